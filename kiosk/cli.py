"""Hall edge CLI placeholder until core lands."""
def main() -> None:
    raise SystemExit("hall: not yet")
