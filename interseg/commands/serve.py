"""``interseg serve [--checkpoint NAME|PATH] [--host 127.0.0.1] [--port 9090] [--workers N]``"""

from __future__ import annotations

import argparse
import os

from ..config import load_config
from ..errors import ConfigError
from ..extras import require_extra
from .common import csv, single_predictor


def run(args: argparse.Namespace) -> int:
    require_extra("serve", "interseg serve")
    import uvicorn

    from ..serve.app import ServeSettings, create_app
    from ..serve.auth import ENV_VAR, credentials_from, is_loopback
    from ..serve.images import origin

    if args.workers < 1 or args.max_queue < 0:
        raise ConfigError("--workers must be >= 1 and --max-queue >= 0")
    import torch

    # the worker threads share the cores: each prediction gets its share of intra-op threads
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.workers))
    credentials = credentials_from(args.basic_auth)   # checked before the model loads: a wrong start fails fast
    if credentials is None and not is_loopback(args.host):
        raise ConfigError(f"--host {args.host} listens beyond this machine: give --basic-auth USER:PASS (or set "
                          f"{ENV_VAR}), and the same user and password in Label Studio's model connection")
    if args.label_studio_url:
        origin(args.label_studio_url)   # an http(s) URL, or a clear error
    cfg = load_config(args.config)
    predictor = single_predictor(args, cfg)   # loaded before the port opens
    settings = ServeSettings(workers=args.workers, max_queue=args.max_queue, allow_hosts=args.allow_host,
                             max_image_bytes=args.max_image_mb << 20, max_pixels=args.max_pixels,
                             image_cache_bytes=args.cache_mb << 20, prediction_cache_bytes=args.cache_mb << 20,
                             cache_ttl_s=args.cache_ttl, basic_auth=credentials,
                             label_studio_url=args.label_studio_url)
    learner = None
    if args.learn is not None or args.model_version:
        from ..serve.learner import Learner, LearnSettings

        if args.learn is None:
            raise ConfigError("--model-version needs --learn DIR (the folder that holds the versions)")
        learner = Learner(args.learn, predictor, cfg, LearnSettings(
            every=args.learn_every, steps=args.learn_steps, replay=tuple(csv(args.replay)), swap=args.learn_swap,
            forgetting=args.learn_forgetting, freeze=args.learn_freeze, mix=args.learn_mix))
        predictor = learner.pin(args.model_version) if args.model_version else learner.served(predictor)
    app = create_app(predictor, settings, learner)
    print(f"interseg serve: {predictor.name} on http://{args.host}:{args.port} ({args.workers} worker(s)); "
          f"in Label Studio: Settings → Model → Connect model, URL http://{args.host}:{args.port}, "
          f"'Interactive preannotations' on", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
