"""The studio's engine library: requests in, frames and files out. Never imports Django."""
