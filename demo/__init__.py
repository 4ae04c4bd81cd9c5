"""A demo fleet: simulated devices running a real ONNX model through the collector SDK."""
