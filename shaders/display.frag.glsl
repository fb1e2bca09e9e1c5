#version 330 core
// Final stage: draw the processed frame into the letterboxed viewport, image row 0 at the top of the screen.
uniform sampler2D u_image;  // texture row 0 = image row 0 (top)
in vec2 v_uv;
out vec4 f_color;

void main() {
    f_color = vec4(texture(u_image, vec2(v_uv.x, 1.0 - v_uv.y)).rgb, 1.0);
}
