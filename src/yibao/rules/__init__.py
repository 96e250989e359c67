"""Pure, vectorized rule calculators over int64 fen arrays. No I/O, no clock, no database."""

__all__: list[str] = []
