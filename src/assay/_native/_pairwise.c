/*
 * Fused pairwise kernel sums for one-dimensional inputs (the MMD penalties of MinDiff).
 *
 * For x (n values), columns c (m x n, row-major) and a kernel k(x_i, x_j) = exp(a_ij) with
 *
 *     Gaussian:   a_ij = -(x_i - x_j)^2 * scale      (scale = 1 / length^2)
 *     Laplacian:  a_ij = -|x_i - x_j|   * scale      (scale = 1 / length)
 *
 * it computes, for every column l and row i,
 *
 *     u[l, i] = sum_j k_ij c[l, j]
 *     v[l, i] = sum_j k_ij c[l, j] g_ij,   g_ij = x_i - x_j (Gaussian), sign(x_i - x_j) (Laplacian)
 *
 * in one pass over the upper triangle (k is symmetric, g antisymmetric), without ever
 * holding the n x n kernel matrix: O(n) memory, n(n-1)/2 exponentials. u gives the MMD
 * (c^T u) and v its gradient with respect to x in closed form.
 *
 * Kernel arguments are floored at `floor` (log of the smallest normal number plus 20, chosen
 * by the caller) so that no subnormal number is ever produced: subnormal arithmetic is
 * one to two orders of magnitude slower on most CPUs. The exponential is evaluated with
 * Cody-Waite range reduction and a Taylor polynomial (degree 7 in single precision,
 * 13 in double), written so that compilers vectorise the inner loops without -ffast-math.
 * If any x is not finite, u and v are all NaN (as the dense computation gives).
 *
 * The module's functions are called from Python with raw data pointers of contiguous CPU
 * tensors (the caller checks dtypes, shapes and contiguity):
 *
 *     kernel_sums(x_ptr, c_ptr, u_ptr, v_ptr, n, m, laplacian, scale, floor, double)
 *         u and v above, for m columns;
 *     quadratic(x_ptr, c_ptr, loss_ptr, gx_ptr, uc_ptr_or_0, n, laplacian, scale, floor,
 *               alpha, weight, double)
 *         the MMD's fast path: the scalar c^T K c and its gradients in one call;
 *     adjusted(x_ptr, a_ptr, b_ptr, loss_ptr, gx_ptr, n, laplacian, scale, floor, alpha, eps,
 *              weight, double)
 *         the same for the adjusted MMD (variance-normalised);
 *     correlation(x_ptr, s_ptr, w_ptr_or_0, loss_ptr, gx_ptr, n, eps, weight, double)
 *         the absolute correlation loss (O(n)) and its gradient.
 *
 * With one column, rows are processed two at a time: they share the loads of the later
 * entries and one update of their sums (about 25% faster at n = 256).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    defined(__GLIBC__) && (__GNUC__ >= 12)
/* One portable build, plus an AVX2+FMA version chosen at load time where the CPU has it
 * (GCC's function multiversioning, resolved by glibc's ifunc). */
#define ASSAY_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ASSAY_CLONES
#endif

#define TILE 256

/* ------------------------------------------------------------------ exponentials */

typedef union {
    float f;
    int32_t i;
} f32bits;

typedef union {
    double f;
    int64_t i;
} f64bits;

/* exp(a) for floor <= a <= 0 (floor > -87 keeps the result normal). */
static inline float exp_nonpos_f32(float a) {
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693145751953125f;      /* 0x3f317200: exact product with k */
    const float ln2_lo = 1.428606765330187e-06f;  /* ln 2 - ln2_hi */
    const float magic = 12582912.0f;             /* 1.5 * 2^23: rounds to an integer */
    f32bits t, s;
    t.f = a * log2e + magic;
    float k = t.f - magic;
    int32_t ki = t.i - 0x4B400000; /* the integer k, from the low mantissa bits */
    float r = (a - k * ln2_hi) - k * ln2_lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    s.i = (ki + 127) << 23;
    return p * s.f;
}

/* exp(a) for floor <= a <= 0 (floor > -708 keeps the result normal). */
static inline double exp_nonpos_f64(double a) {
    const double log2e = 1.4426950408889634074;
    const double ln2_hi = 6.93147180369123816490e-01; /* 0x3fe62e42fee00000 */
    const double ln2_lo = 1.90821492927058770002e-10; /* ln 2 - ln2_hi */
    const double magic = 6755399441055744.0;            /* 1.5 * 2^52 */
    f64bits t, s;
    t.f = a * log2e + magic;
    double k = t.f - magic;
    int64_t ki = t.i - INT64_C(0x4338000000000000);
    double r = (a - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    s.i = (ki + 1023) << 52;
    return p * s.f;
}

/* ------------------------------------------------------------------ the sums */

/* The kernel argument a(d) (nscale = -scale) and the gradient factor g(d) of a difference
 * d = x_i - x_j. */
#define GAUSS_ARG(d, nscale) ((d) * (d) * (nscale))
#define GAUSS_G(T, d) (d)
#define LAPLACE_ARG(d, nscale) (((d) < 0 ? -(d) : (d)) * (nscale))
#define LAPLACE_G(T, d) ((T)(((d) > 0) - ((d) < 0)))

/* Row i of the upper triangle for one column (m = 1): j = i+1 .. i+len, len a multiple of
 * LANES (padded). Returns the row's sums; adds the symmetric terms into u[j], v[j]. */
#define DEFINE_ROW1(NAME, T, EXP, ARG, GF)                                                       \
    static inline void NAME(const T *restrict xj, const T *restrict cj, T *restrict uj,          \
                            T *restrict vj, Py_ssize_t len, T xi, T ci, T nscale, T floor_,       \
                            T *su_out, T *sv_out) {                                              \
        T su = 0, sv = 0;                                                                        \
        _Pragma("omp simd reduction(+ : su, sv)")                                               \
        for (Py_ssize_t t = 0; t < len; ++t) {                                                   \
            const T d = xi - xj[t];                                                              \
            T a = ARG(d, nscale);                                                                \
            a = a < floor_ ? floor_ : a;                                                         \
            const T ek = EXP(a);                                                                 \
            const T gk = GF(T, d);                                                               \
            const T ec = ek * cj[t];                                                             \
            su += ec;                                                                            \
            sv += ec * gk;                                                                       \
            const T eci = ek * ci;                                                               \
            uj[t] += eci;                                                                        \
            vj[t] -= eci * gk;                                                                   \
        }                                                                                        \
        *su_out = su;                                                                            \
        *sv_out = sv;                                                                            \
    }

/* Rows i and i+1 together for one column: j = i+2 .. i+1+len (len a multiple of LANES). The
 * two rows share the loads of x_j and c_j and one update of u_j and v_j. Writes the four row
 * sums (u_i, v_i, u_{i+1}, v_{i+1}) to out. */
#define DEFINE_ROW2(NAME, T, EXP, ARG, GF)                                                       \
    static inline void NAME(const T *restrict xj, const T *restrict cj, T *restrict uj,          \
                            T *restrict vj, Py_ssize_t len, T x0, T c0, T x1, T c1, T nscale,     \
                            T floor_, T *out) {                                                  \
        T su0 = 0, sv0 = 0, su1 = 0, sv1 = 0;                                                    \
        _Pragma("omp simd reduction(+ : su0, sv0, su1, sv1)")                                   \
        for (Py_ssize_t t = 0; t < len; ++t) {                                                   \
            const T d0 = x0 - xj[t], d1 = x1 - xj[t];                                            \
            T a0 = ARG(d0, nscale), a1 = ARG(d1, nscale);                                        \
            a0 = a0 < floor_ ? floor_ : a0;                                                      \
            a1 = a1 < floor_ ? floor_ : a1;                                                      \
            const T e0 = EXP(a0), e1 = EXP(a1);                                                  \
            const T g0 = GF(T, d0), g1 = GF(T, d1);                                              \
            const T cjt = cj[t];                                                                 \
            const T ec0 = e0 * cjt, ec1 = e1 * cjt;                                              \
            su0 += ec0;                                                                          \
            sv0 += ec0 * g0;                                                                     \
            su1 += ec1;                                                                          \
            sv1 += ec1 * g1;                                                                     \
            const T f0 = e0 * c0, f1 = e1 * c1;                                                  \
            uj[t] += f0 + f1;                                                                    \
            vj[t] -= f0 * g0 + f1 * g1;                                                          \
        }                                                                                        \
        out[0] = su0;                                                                            \
        out[1] = sv0;                                                                            \
        out[2] = su1;                                                                            \
        out[3] = sv1;                                                                            \
    }

/* Kernel values e[t] and gradient factors g[t] for j = j0 + t, t < len (several columns). */
#define DEFINE_TILE(NAME, T, EXP, ARG, GF)                                                       \
    static inline void NAME(const T *restrict xj, T *restrict e, T *restrict g, Py_ssize_t len,   \
                            T xi, T nscale, T floor_) {                                          \
        _Pragma("omp simd")                                                                     \
        for (Py_ssize_t t = 0; t < len; ++t) {                                                   \
            const T d = xi - xj[t];                                                              \
            T a = ARG(d, nscale);                                                                \
            a = a < floor_ ? floor_ : a;                                                         \
            e[t] = EXP(a);                                                                       \
            g[t] = GF(T, d);                                                                     \
        }                                                                                        \
    }

/* The whole computation for one precision. The arrays are copied into scratch buffers
 * padded by LANES entries (x with a finite value, c with zeros), so that every inner loop
 * runs over whole vectors: no scalar remainder loop, which for rows of a few hundred
 * entries costs as much as the vectorised part. Padded lanes add c = 0 to the sums and
 * write only into the padding of u and v.
 *
 * Single-threaded on purpose: called inside a training step, right after PyTorch's
 * parallel operators, whose OpenMP workers keep spinning on the other cores for a while;
 * a second thread of our own was measured to make the step slower, not faster. Returns 0,
 * or -1 if allocation failed. */
#define LANES 16
#define DEFINE_KERNEL_SUMS(NAME, T, EXP)                                                         \
    DEFINE_ROW1(NAME##_row_gauss, T, EXP, GAUSS_ARG, GAUSS_G)                                    \
    DEFINE_ROW1(NAME##_row_laplace, T, EXP, LAPLACE_ARG, LAPLACE_G)                              \
    DEFINE_ROW2(NAME##_rows2_gauss, T, EXP, GAUSS_ARG, GAUSS_G)                                  \
    DEFINE_ROW2(NAME##_rows2_laplace, T, EXP, LAPLACE_ARG, LAPLACE_G)                            \
    DEFINE_TILE(NAME##_tile_gauss, T, EXP, GAUSS_ARG, GAUSS_G)                                   \
    DEFINE_TILE(NAME##_tile_laplace, T, EXP, LAPLACE_ARG, LAPLACE_G)                             \
    typedef struct {                                                                             \
        const T *x, *c;                                                                          \
        T *u, *v;                                                                                \
        Py_ssize_t n, np, m, i0, i1;                                                             \
        int laplacian;                                                                           \
        T scale, floor_;                                                                         \
    } NAME##_job;                                                                                \
    /* Rows i0 .. i1-1 of the upper triangle, added into job->u and job->v. */                   \
    ASSAY_CLONES static void NAME##_rows(const NAME##_job *job) {                                \
        const T *x = job->x, *c = job->c;                                                        \
        T *u = job->u, *v = job->v;                                                              \
        const Py_ssize_t n = job->n, np = job->np, m = job->m;                                   \
        const int laplacian = job->laplacian;                                                    \
        const T nscale = -job->scale, floor_ = job->floor_;                                      \
        T e[TILE], g[TILE];                                                                      \
        Py_ssize_t i = job->i0;                                                                  \
        if (m == 1) { /* two rows at a time */                                                   \
            for (; i + 1 < job->i1; i += 2) {                                                    \
                const T x0 = x[i], x1 = x[i + 1], c0 = c[i], c1 = c[i + 1];                       \
                const T d = x0 - x1;                                                             \
                T a = laplacian ? LAPLACE_ARG(d, nscale) : GAUSS_ARG(d, nscale);                 \
                a = a < floor_ ? floor_ : a;                                                     \
                const T e01 = EXP(a); /* the pair (i, i+1) itself */                             \
                const T g01 = laplacian ? LAPLACE_G(T, d) : GAUSS_G(T, d);                       \
                const Py_ssize_t len = (n - i - 2 + LANES - 1) / LANES * LANES;                  \
                T out[4];                                                                        \
                if (laplacian)                                                                   \
                    NAME##_rows2_laplace(x + i + 2, c + i + 2, u + i + 2, v + i + 2, len, x0,    \
                                         c0, x1, c1, nscale, floor_, out);                       \
                else                                                                             \
                    NAME##_rows2_gauss(x + i + 2, c + i + 2, u + i + 2, v + i + 2, len, x0, c0,  \
                                       x1, c1, nscale, floor_, out);                             \
                u[i] += c0 + e01 * c1 + out[0];                                                  \
                v[i] += e01 * c1 * g01 + out[1];                                                 \
                u[i + 1] += c1 + e01 * c0 + out[2];                                              \
                v[i + 1] += -e01 * c0 * g01 + out[3];                                            \
            }                                                                                    \
        }                                                                                        \
        for (; i < job->i1; ++i) {                                                               \
            const T xi = x[i];                                                                   \
            const Py_ssize_t len = (n - i - 1 + LANES - 1) / LANES * LANES;                      \
            for (Py_ssize_t l = 0; l < m; ++l) u[l * np + i] += c[l * np + i]; /* k_ii = 1 */   \
            if (m == 1) {                                                                        \
                T su, sv;                                                                        \
                if (laplacian)                                                                   \
                    NAME##_row_laplace(x + i + 1, c + i + 1, u + i + 1, v + i + 1, len, xi,      \
                                       c[i], nscale, floor_, &su, &sv);                          \
                else                                                                             \
                    NAME##_row_gauss(x + i + 1, c + i + 1, u + i + 1, v + i + 1, len, xi, c[i],  \
                                     nscale, floor_, &su, &sv);                                  \
                u[i] += su;                                                                      \
                v[i] += sv;                                                                      \
                continue;                                                                        \
            }                                                                                    \
            for (Py_ssize_t j0 = 0; j0 < len; j0 += TILE) {                                      \
                const Py_ssize_t tl = (len - j0 < TILE) ? len - j0 : TILE;                       \
                if (laplacian)                                                                   \
                    NAME##_tile_laplace(x + i + 1 + j0, e, g, tl, xi, nscale, floor_);           \
                else                                                                             \
                    NAME##_tile_gauss(x + i + 1 + j0, e, g, tl, xi, nscale, floor_);             \
                for (Py_ssize_t l = 0; l < m; ++l) {                                             \
                    const T *restrict cj = c + l * np + i + 1 + j0;                              \
                    T *restrict uj = u + l * np + i + 1 + j0;                                    \
                    T *restrict vj = v + l * np + i + 1 + j0;                                    \
                    const T ci = c[l * np + i];                                                  \
                    T su = 0, sv = 0;                                                            \
                    _Pragma("omp simd reduction(+ : su, sv)")                                   \
                    for (Py_ssize_t t = 0; t < tl; ++t) {                                        \
                        const T ec = e[t] * cj[t];                                               \
                        su += ec;                                                                \
                        sv += ec * g[t];                                                         \
                        const T eci = e[t] * ci;                                                 \
                        uj[t] += eci;                                                            \
                        vj[t] -= eci * g[t];                                                     \
                    }                                                                            \
                    u[l * np + i] += su;                                                         \
                    v[l * np + i] += sv;                                                         \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    static int NAME(const T *restrict x_in, const T *restrict c_in, T *restrict u_out,           \
                    T *restrict v_out, Py_ssize_t n, Py_ssize_t m, int laplacian, T scale,       \
                    T floor_) {                                                                  \
        for (Py_ssize_t i = 0; i < n; ++i) {                                                     \
            if (!isfinite((double)x_in[i])) {                                                    \
                for (Py_ssize_t q = 0; q < n * m; ++q) u_out[q] = v_out[q] = (T)NAN;             \
                return 0;                                                                        \
            }                                                                                    \
        }                                                                                        \
        const Py_ssize_t np = n + LANES; /* padded length */                                     \
        T *buf = (T *)calloc((size_t)(np * (1 + 3 * m)), sizeof(T));                             \
        if (!buf) return -1;                                                                     \
        T *x = buf, *c = buf + np, *u = c + np * m, *v = u + np * m;                             \
        memcpy(x, x_in, sizeof(T) * (size_t)n);                                                  \
        for (Py_ssize_t q = n; q < np; ++q) x[q] = n ? x_in[n - 1] : 0;                          \
        for (Py_ssize_t l = 0; l < m; ++l)                                                       \
            memcpy(c + l * np, c_in + l * n, sizeof(T) * (size_t)n);                             \
        const NAME##_job job = {x, c, u, v, n, np, m, 0, n, laplacian, scale, floor_};           \
        NAME##_rows(&job);                                                                       \
        for (Py_ssize_t l = 0; l < m; ++l) {                                                     \
            memcpy(u_out + l * n, u + l * np, sizeof(T) * (size_t)n);                            \
            memcpy(v_out + l * n, v + l * np, sizeof(T) * (size_t)n);                            \
        }                                                                                        \
        free(buf);                                                                               \
        return 0;                                                                                \
    }

DEFINE_KERNEL_SUMS(kernel_sums_f32, float, exp_nonpos_f32)
DEFINE_KERNEL_SUMS(kernel_sums_f64, double, exp_nonpos_f64)

/* ------------------------------------------------------------------ Python binding */

/* Pointers, sizes and floats from Python arguments; returns 0 or -1 with an exception set. */
static int parse_ptr(PyObject *o, void **out, int allow_null) {
    *out = PyLong_AsVoidPtr(o);
    if (PyErr_Occurred()) return -1;
    if (!*out && !allow_null) {
        PyErr_SetString(PyExc_ValueError, "null data pointer");
        return -1;
    }
    return 0;
}

static PyObject *py_kernel_sums(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *x, *c, *u, *v;
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError, "kernel_sums expects 10 arguments");
        return NULL;
    }
    if (parse_ptr(args[0], &x, 0) || parse_ptr(args[1], &c, 0) || parse_ptr(args[2], &u, 0) ||
        parse_ptr(args[3], &v, 0))
        return NULL;
    Py_ssize_t n = PyLong_AsSsize_t(args[4]);
    Py_ssize_t m = PyLong_AsSsize_t(args[5]);
    int laplacian = PyObject_IsTrue(args[6]);
    double scale = PyFloat_AsDouble(args[7]);
    double floor_ = PyFloat_AsDouble(args[8]);
    int is_double = PyObject_IsTrue(args[9]);
    if (PyErr_Occurred()) return NULL;
    if (n < 0 || m < 1) {
        PyErr_SetString(PyExc_ValueError, "kernel_sums: bad sizes");
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    if (is_double)
        status = kernel_sums_f64((const double *)x, (const double *)c, (double *)u, (double *)v,
                                 n, m, laplacian, scale, floor_);
    else
        status = kernel_sums_f32((const float *)x, (const float *)c, (float *)u, (float *)v, n,
                                 m, laplacian, (float)scale, (float)floor_);
    Py_END_ALLOW_THREADS
    if (status != 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* The quadratic form c^T K c of one column and its gradients, scaled by `weight`:
 *     loss = weight * sum_i c_i u_i,   gx_i = weight * 2 alpha c_i v_i,   uc_i = weight * 2 u_i
 * (uc, the gradient with respect to c, only when its pointer is not null). */
#define DEFINE_QUADRATIC(NAME, SUMS, T)                                                          \
    static int NAME(const T *x, const T *c, T *loss, T *gx, T *uc, Py_ssize_t n, int laplacian,  \
                    T scale, T floor_, T alpha, T weight) {                                      \
        T *tmp = (T *)malloc(sizeof(T) * (size_t)(2 * n + 1));                                   \
        if (!tmp) return -1;                                                                     \
        T *u = tmp, *v = tmp + n;                                                                \
        if (SUMS(x, c, u, v, n, 1, laplacian, scale, floor_) != 0) {                             \
            free(tmp);                                                                           \
            return -1;                                                                           \
        }                                                                                        \
        double total = 0;                                                                        \
        for (Py_ssize_t i = 0; i < n; ++i) total += (double)c[i] * (double)u[i];                 \
        *loss = (T)(weight * total);                                                             \
        const T gscale = 2 * alpha * weight;                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) gx[i] = gscale * c[i] * v[i];                         \
        if (uc)                                                                                  \
            for (Py_ssize_t i = 0; i < n; ++i) uc[i] = 2 * weight * u[i];                        \
        free(tmp);                                                                               \
        return 0;                                                                                \
    }

DEFINE_QUADRATIC(quadratic_f32, kernel_sums_f32, float)
DEFINE_QUADRATIC(quadratic_f64, kernel_sums_f64, double)

static PyObject *py_quadratic(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *x, *c, *loss, *gx, *uc;
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "quadratic expects 12 arguments");
        return NULL;
    }
    if (parse_ptr(args[0], &x, 0) || parse_ptr(args[1], &c, 0) || parse_ptr(args[2], &loss, 0) ||
        parse_ptr(args[3], &gx, 0) || parse_ptr(args[4], &uc, 1))
        return NULL;
    Py_ssize_t n = PyLong_AsSsize_t(args[5]);
    int laplacian = PyObject_IsTrue(args[6]);
    double scale = PyFloat_AsDouble(args[7]);
    double floor_ = PyFloat_AsDouble(args[8]);
    double alpha = PyFloat_AsDouble(args[9]);
    double weight = PyFloat_AsDouble(args[10]);
    int is_double = PyObject_IsTrue(args[11]);
    if (PyErr_Occurred()) return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "quadratic: bad size");
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    if (is_double)
        status = quadratic_f64((const double *)x, (const double *)c, (double *)loss, (double *)gx,
                               (double *)uc, n, laplacian, scale, floor_, alpha, weight);
    else
        status = quadratic_f32((const float *)x, (const float *)c, (float *)loss, (float *)gx,
                               (float *)uc, n, laplacian, (float)scale, (float)floor_,
                               (float)alpha, (float)weight);
    Py_END_ALLOW_THREADS
    if (status != 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* The adjusted MMD of one column (no gradient through the group weights a, b):
 *     mu_ss = a.Ka, mu_tt = b.Kb, mu_st = a.Kb, mmd = mu_ss + mu_tt - 2 mu_st,
 *     var = (sum a - mu_ss) sum a^2 + (sum b - mu_tt) sum b^2 + eps   (K_ii = 1),
 *     loss = weight * mmd / var,  gx_i = weight / var * 2 alpha (a_i - b_i) (Va_i - Vb_i)
 * (var is a constant for the gradient, as TF's stop_gradient; var == 0 gives 0). */
#define DEFINE_ADJUSTED(NAME, SUMS, T)                                                           \
    static int NAME(const T *x, const T *a, const T *b, T *loss, T *gx, Py_ssize_t n,            \
                    int laplacian, T scale, T floor_, T alpha, double eps, double weight) {      \
        T *tmp = (T *)malloc(sizeof(T) * (size_t)(6 * n + 1));                                   \
        if (!tmp) return -1;                                                                     \
        T *c = tmp, *u = tmp + 2 * n, *v = tmp + 4 * n;                                          \
        memcpy(c, a, sizeof(T) * (size_t)n);                                                     \
        memcpy(c + n, b, sizeof(T) * (size_t)n);                                                 \
        if (SUMS(x, c, u, v, n, 2, laplacian, scale, floor_) != 0) {                             \
            free(tmp);                                                                           \
            return -1;                                                                           \
        }                                                                                        \
        double ss = 0, tt = 0, st = 0, sa = 0, sb = 0, sa2 = 0, sb2 = 0;                         \
        for (Py_ssize_t i = 0; i < n; ++i) {                                                     \
            const double ai = a[i], bi = b[i];                                                   \
            ss += ai * u[i];                                                                     \
            tt += bi * u[n + i];                                                                 \
            st += ai * u[n + i];                                                                 \
            sa += ai;                                                                            \
            sb += bi;                                                                            \
            sa2 += ai * ai;                                                                      \
            sb2 += bi * bi;                                                                      \
        }                                                                                        \
        const double var = (sa - ss) * sa2 + (sb - tt) * sb2 + eps;                              \
        const double mmd = ss + tt - 2 * st;                                                     \
        const double f = var != 0 ? weight / var : 0.0;                                          \
        *loss = (T)(mmd * f);                                                                    \
        const T g = (T)(2 * alpha * f);                                                          \
        for (Py_ssize_t i = 0; i < n; ++i) gx[i] = g * (a[i] - b[i]) * (v[i] - v[n + i]);        \
        free(tmp);                                                                               \
        return 0;                                                                                \
    }

DEFINE_ADJUSTED(adjusted_f32, kernel_sums_f32, float)
DEFINE_ADJUSTED(adjusted_f64, kernel_sums_f64, double)

/* The absolute correlation loss and its gradient with respect to x (w: weights or NULL):
 *     w^ = w / sum w,  s_c = s - sum w^ s,  x_c = x - sum w^ x,
 *     cov = sum w^ s_c x_c,  A = sqrt(sum w^ s_c^2 + eps),  B = sqrt(sum w^ x_c^2 + eps),
 *     loss = weight |cov| / (A B),
 *     gx_i = weight w^_i / (A B) (sign(cov) s_c_i - |cov| x_c_i / B^2). */
#define DEFINE_CORRELATION(NAME, T)                                                              \
    static void NAME(const T *x, const T *s, const T *w, T *loss, T *gx, Py_ssize_t n,           \
                     double eps, double weight) {                                                \
        double wsum = 0, sbar = 0, xbar = 0;                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) {                                                     \
            const double wi = w ? (double)w[i] : 1.0;                                            \
            wsum += wi;                                                                          \
            sbar += wi * s[i];                                                                   \
            xbar += wi * x[i];                                                                   \
        }                                                                                        \
        if (!(wsum > 0)) { /* not reached: the caller handles empty groups */                    \
            *loss = 0;                                                                           \
            for (Py_ssize_t i = 0; i < n; ++i) gx[i] = 0;                                        \
            return;                                                                              \
        }                                                                                        \
        sbar /= wsum;                                                                            \
        xbar /= wsum;                                                                            \
        double cov = 0, vs = 0, vp = 0;                                                          \
        for (Py_ssize_t i = 0; i < n; ++i) {                                                     \
            const double wi = (w ? (double)w[i] : 1.0) / wsum;                                   \
            const double sc = s[i] - sbar, xc = x[i] - xbar;                                     \
            cov += wi * sc * xc;                                                                 \
            vs += wi * sc * sc;                                                                  \
            vp += wi * xc * xc;                                                                  \
        }                                                                                        \
        const double A = sqrt(vs + eps), B = sqrt(vp + eps);                                     \
        const double acov = fabs(cov), sgn = (cov > 0) - (cov < 0);                              \
        *loss = (T)(weight * acov / (A * B));                                                    \
        const double k = weight / (A * B * wsum), q = acov / (B * B);                            \
        for (Py_ssize_t i = 0; i < n; ++i) {                                                     \
            const double wi = w ? (double)w[i] : 1.0;                                            \
            gx[i] = (T)(k * wi * (sgn * (s[i] - sbar) - q * (x[i] - xbar)));                     \
        }                                                                                        \
    }

DEFINE_CORRELATION(correlation_f32, float)
DEFINE_CORRELATION(correlation_f64, double)

static PyObject *py_adjusted(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *x, *a, *b, *loss, *gx;
    if (nargs != 13) {
        PyErr_SetString(PyExc_TypeError, "adjusted expects 13 arguments");
        return NULL;
    }
    if (parse_ptr(args[0], &x, 0) || parse_ptr(args[1], &a, 0) || parse_ptr(args[2], &b, 0) ||
        parse_ptr(args[3], &loss, 0) || parse_ptr(args[4], &gx, 0))
        return NULL;
    Py_ssize_t n = PyLong_AsSsize_t(args[5]);
    int laplacian = PyObject_IsTrue(args[6]);
    double scale = PyFloat_AsDouble(args[7]);
    double floor_ = PyFloat_AsDouble(args[8]);
    double alpha = PyFloat_AsDouble(args[9]);
    double eps = PyFloat_AsDouble(args[10]);
    double weight = PyFloat_AsDouble(args[11]);
    int is_double = PyObject_IsTrue(args[12]);
    if (PyErr_Occurred()) return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "adjusted: bad size");
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    if (is_double)
        status = adjusted_f64((const double *)x, (const double *)a, (const double *)b,
                              (double *)loss, (double *)gx, n, laplacian, scale, floor_, alpha,
                              eps, weight);
    else
        status = adjusted_f32((const float *)x, (const float *)a, (const float *)b, (float *)loss,
                              (float *)gx, n, laplacian, (float)scale, (float)floor_,
                              (float)alpha, eps, weight);
    Py_END_ALLOW_THREADS
    if (status != 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *py_correlation(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    void *x, *s, *w, *loss, *gx;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "correlation expects 9 arguments");
        return NULL;
    }
    if (parse_ptr(args[0], &x, 0) || parse_ptr(args[1], &s, 0) || parse_ptr(args[2], &w, 1) ||
        parse_ptr(args[3], &loss, 0) || parse_ptr(args[4], &gx, 0))
        return NULL;
    Py_ssize_t n = PyLong_AsSsize_t(args[5]);
    double eps = PyFloat_AsDouble(args[6]);
    double weight = PyFloat_AsDouble(args[7]);
    int is_double = PyObject_IsTrue(args[8]);
    if (PyErr_Occurred()) return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "correlation: bad size");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (is_double)
        correlation_f64((const double *)x, (const double *)s, (const double *)w, (double *)loss,
                        (double *)gx, n, eps, weight);
    else
        correlation_f32((const float *)x, (const float *)s, (const float *)w, (float *)loss,
                        (float *)gx, n, eps, weight);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"kernel_sums", (PyCFunction)(void (*)(void))py_kernel_sums, METH_FASTCALL,
     "kernel_sums(x_ptr, c_ptr, u_ptr, v_ptr, n, m, laplacian, scale, floor, double)"},
    {"quadratic", (PyCFunction)(void (*)(void))py_quadratic, METH_FASTCALL,
     "quadratic(x_ptr, c_ptr, loss_ptr, gx_ptr, uc_ptr_or_0, n, laplacian, scale, floor, alpha, "
     "weight, double)"},
    {"adjusted", (PyCFunction)(void (*)(void))py_adjusted, METH_FASTCALL,
     "adjusted(x_ptr, a_ptr, b_ptr, loss_ptr, gx_ptr, n, laplacian, scale, floor, alpha, eps, "
     "weight, double)"},
    {"correlation", (PyCFunction)(void (*)(void))py_correlation, METH_FASTCALL,
     "correlation(x_ptr, s_ptr, w_ptr_or_0, loss_ptr, gx_ptr, n, eps, weight, double)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pairwise", "Fused pairwise kernel sums (see _pairwise.c).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pairwise(void) { return PyModule_Create(&module); }
