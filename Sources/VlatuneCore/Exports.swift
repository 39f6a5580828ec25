// The front ends (the CLI, the MCP adapter) and the fuzz harness import the core by one name.

@_exported import VlatuneArchive
@_exported import VlatuneDatasets
@_exported import VlatuneFormats
@_exported import VlatuneGuardrails
@_exported import VlatuneJobs
@_exported import VlatuneStore
@_exported import VlatuneSupport
