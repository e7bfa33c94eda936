# CPU image of interseg.  Build: docker build -t interseg .
# Run:   docker run --rm -v /path/to/datasets:/data -e INTERSEG_DATA=/data interseg \
#          interseg evaluate --datasets GrabCut --noi
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 python3-tk \
    && rm -rf /var/lib/apt/lists/*

# The CPU build of PyTorch (the default index serves CUDA builds of several GB).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX}

WORKDIR /opt/interseg
COPY . .
RUN pip install --no-cache-dir -e ".[all]"
CMD ["interseg", "--help"]
