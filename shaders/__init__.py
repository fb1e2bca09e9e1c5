"""GLSL sources for the render pipeline (installed as the package `instrument.shaders`)."""
