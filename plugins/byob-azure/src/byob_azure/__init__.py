"""byob-azure: the ``azure`` provider of byob (Azure Blob Storage through adlfs).

Importing this package is cheap: no Azure SDK module is imported until a store is used.
"""

from __future__ import annotations

__version__ = "0.1.0"
