"""Rendering of nimgen's outputs."""
