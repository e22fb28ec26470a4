"""The one exception type the plugin raises for anything a user can fix."""


class RepViTError(ValueError):
    """A RepViT model row, argument, weight file or environment that cannot work, and how to fix it.

    A ``ValueError`` so that code catching ultralytics' own config errors catches ours too.
    """
