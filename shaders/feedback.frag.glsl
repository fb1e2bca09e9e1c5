#version 330 core
// Feedback stretch: out = mix(current, previous output zoomed and rotated about the centre, amount).
// Runs at frame resolution; texel row 0 = image top, so v_uv.y grows downwards on screen.
uniform sampler2D u_current;
uniform sampler2D u_previous;
uniform float u_amount;    // 0 = pass-through
uniform float u_zoom;      // > 1 grows the fed-back image
uniform float u_rotate;    // radians per frame, counter-clockwise on screen
uniform float u_aspect;    // frame width / height, keeps the rotation circular
in vec2 v_uv;
out vec4 f_color;

void main() {
    vec4 cur = texture(u_current, v_uv);
    vec2 d = (v_uv - 0.5) * vec2(u_aspect, 1.0);
    float c = cos(u_rotate), s = sin(u_rotate);
    d = mat2(c, s, -s, c) * d / u_zoom;
    vec2 uv = d / vec2(u_aspect, 1.0) + 0.5;
    bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
    vec4 prev = inside ? texture(u_previous, uv) : cur;
    f_color = vec4(mix(cur.rgb, prev.rgb, u_amount), 1.0);
}
