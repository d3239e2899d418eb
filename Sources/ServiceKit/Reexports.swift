// The reference data (regions, networks) is its own module so that code with no I/O — the
// bandwidth allocation core — can use it without the kit; every service sees it through the kit.
@_exported import Reference
