"""The one exception type the plugin raises for anything a user can fix."""


class RepViTError(ValueError):
    """A backbone row, argument, weight file or environment that cannot work, and how to fix it.

    Raised for RepViT and Timm rows alike (the name is the plugin's).  A ``ValueError``, so code
    that catches ultralytics' own config errors catches ours too.
    """
