"""Running a loaded model: GGUF → weights (`weights`), the native forward pass (`native_model`),
generation (`generator`), and the facade that ties them together (`model.BitNetModel`)."""
