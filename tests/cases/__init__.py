"""Tests for cases (办件) and electronic supervision."""
