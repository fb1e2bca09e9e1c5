#version 330 core
// HUD overlay: the Pillow-rendered text box (RGBA, row 0 = top), alpha-blended over the display.
uniform sampler2D u_hud;
in vec2 v_uv;
out vec4 f_color;

void main() {
    f_color = texture(u_hud, vec2(v_uv.x, 1.0 - v_uv.y));
}
