#version 330 core
// Pixel sort (Asendorf): odd-even transposition passes along one axis, up to K passes fused into one draw.
// A pass pairs neighbours (pairs start at even or odd positions, alternating) and swaps a pair when it is
// out of brightness order and both pixels are in a run (luma above the threshold). A swap never moves a
// pixel out of its run, so repeated passes sort each run on its own. Each fragment loads the window of
// N = 2K+2 texels that decides its result after K passes and runs the compare-exchange network on it.
// The host prepends K and NETWORK: the unrolled list of CX(a, b) exchanges, pass s guarded by u_steps > s.
#ifndef K
#define K 1
#define NETWORK if (u_steps > 0) { CX(0, 1) CX(2, 3) }
#endif
#define N (2 * K + 2)
uniform sampler2D u_src;
uniform ivec2 u_axis;        // (1, 0) horizontal or (0, 1) vertical, in texels (y = image row)
uniform int u_parity;        // parity of this draw's first pass: 0 pairs (0,1)(2,3).. 1 pairs (1,2)(3,4)..
uniform int u_steps;         // passes this draw runs, 1..K
uniform float u_threshold;
uniform bool u_descending;   // true: brightness falls along +axis (sorting left / up)
out vec4 f_color;

// Compare-exchange of window slots a < b: swap when both are in a run and out of order.
#define CX(a, b) { bool sw = run[a] && run[b] && key[a] > key[b]; \
    float k0 = key[a]; int i0 = idx[a]; \
    key[a] = sw ? key[b] : k0; key[b] = sw ? k0 : key[b]; \
    idx[a] = sw ? idx[b] : i0; idx[b] = sw ? i0 : idx[b]; }

float luma(vec3 c) {
    return dot(c, vec3(0.2126, 0.7152, 0.0722));
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    f_color = texelFetch(u_src, p, 0);
    if (luma(f_color.rgb) <= u_threshold) return;   // outside every run: never moves
    ivec2 size = textureSize(u_src, 0);
    int i = p.x * u_axis.x + p.y * u_axis.y;
    int len = size.x * u_axis.x + size.y * u_axis.y;
    int e = (i - K + u_parity) & 1;      // window start = i - K - e, so the first pass pairs slots (0,1)(2,3)..
    int base = i - K - e;
    float key[N];
    int idx[N];
    bool run[N];
    for (int j = 0; j < N; ++j) {
        int g = base + j;
        float l = luma(texelFetch(u_src, p + (clamp(g, 0, len - 1) - i) * u_axis, 0).rgb);
        run[j] = g >= 0 && g < len && l > u_threshold;
        key[j] = u_descending ? -l : l;
        idx[j] = j;
    }
    NETWORK
    int from = e == 0 ? idx[K] : idx[K + 1];
    f_color = texelFetch(u_src, p + (base + from - i) * u_axis, 0);
}
