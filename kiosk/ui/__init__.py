"""PySide6 screens (kiosk, caller, evaluator, board, dashboard): each talks to the hall only through HallClient."""
