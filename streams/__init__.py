"""Faust agents: a thin shell that routes events to profiles and calls scorer/."""
