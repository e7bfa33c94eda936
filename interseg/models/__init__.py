"""Multi-input interactive segmentation networks (HRNet, Segformer/MiT, EfficientNet-Lite)."""
