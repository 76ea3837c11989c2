"""Operations: health checks, request ids and structured logs, metrics."""
