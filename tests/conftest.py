"""Test-wide setup: pytest's default import mode puts this folder on ``sys.path``, so the
wire builders shared by several test packages (``otlp_wire``) import by their module name."""
