#version 330 core
// Shared vertex stage: one oversized triangle covering the viewport, no vertex buffer (gl_VertexID).
// v_uv runs 0..1 across the viewport with GL's convention (v = 0 at the bottom row of the target).
out vec2 v_uv;

void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    v_uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
