"""The model server: Label Studio's ML backend protocol and a plain JSON API over the predictor."""
