"""Catalog: book reads and filters (``reads``), staff changes (``admin``), cover uploads
(``covers``), the page cache (``cache``) and the catalog import (``importer`` over ``sources``
and ``synthetic``). Other packages call ``reads``, ``admin``, ``cache`` and ``importer``."""
