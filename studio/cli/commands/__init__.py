"""One module per noun, like ``az``: each adds its commands to the parser (``register``) and
holds their handlers. They import only what starting the CLI needs; the HTTP client and the spec
layer are loaded by the commands that use them."""
