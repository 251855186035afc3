"""Text models: TF-IDF, recurrent/convolutional/Transformer encoders, pretrained encoders."""
