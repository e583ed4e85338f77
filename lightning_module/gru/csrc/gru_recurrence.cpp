// The sequential part of FusedGRU's forward and backward on CPU, one C++ loop over time.
//
// Why: in Python each GRU time step is a dozen small ATen ops on (N, H) tiles, whose dispatch
// and parallel-region overhead, not arithmetic, dominates small tiles. Here each step is one
// matmul (at::mm_out / addmm_) plus one pass over the tile that computes all gates with
// vectorized exp (ATen's Vectorized). The batch is split into one block of rows per thread
// and each thread runs the whole loop over time on its block (row_grain says why).
//
// Shapes: N batch, T steps, H hidden. Gate order r, z, n, as nn.GRU:
//   r_t = sigmoid(gx_r + h_{t-1} W_hr^T + b_hr)     (gx_* hold x_t W_i*^T + every bias
//   z_t = sigmoid(gx_z + h_{t-1} W_hz^T + b_hz)      except b_hn, which the Python side
//   n_t = tanh(gx_n + r_t * (h_{t-1} W_hn^T + b_hn)) adds once for all T steps)
//   h_t = (1 - z_t) * n_t + z_t * h_{t-1}
// The Python reference of both loops is lightning_module/gru/recurrence.py; the tests compare
// the two, and FusedGRU with either against nn.GRU.
//
// Matmul dtype: the recurrent matmuls run in w_hh's dtype, the matmul dtype. When it is
// bfloat16/float16 and the state (h0) float32, as under autocast, gx comes in that dtype too
// and dgh, dgx_n go out in it (they are only ever matmul operands or summed); each step casts
// its operands and products row by row while the row is in cache, and the gates, the state
// and the saved activations stay float32, as autocast keeps elementwise math.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {

using at::Tensor;

template <typename scalar_t>
using Vec = at::vec::Vectorized<scalar_t>;

// Rows of the batch per thread. Row i of h_t depends only on row i of h_{t-1}, so each thread
// runs the whole loop over time on its own block of rows, with its own small matmul per step:
// one fork and join per sequence instead of two per step, whose barriers cost more than the
// step's arithmetic on a few busy cores. A block below ~4k elements of state is not worth a
// thread.
int64_t row_grain(int64_t H) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(1, H)); }

// exp_u20 (error <= 20 ulp, 2.4e-6 relative in float32; float64 keeps the 1-ulp exp) instead
// of Sleef's exp: the gates' error stays below 1e-6 absolute, and the cheaper exp (with the
// tanh below) is much of what makes this loop faster than the Python one.
template <typename scalar_t>
inline Vec<scalar_t> sigmoid(const Vec<scalar_t>& x) {
  const Vec<scalar_t> one(scalar_t(1));
  return one / (one + x.neg().exp_u20());
}

// tanh(x) = 2 sigmoid(2x) - 1: one exp_u20 instead of Sleef's slower tanh; the absolute error
// stays below 2e-6 (the relative error near 0 is larger, which a GRU never divides by).
template <typename scalar_t>
inline Vec<scalar_t> tanh(const Vec<scalar_t>& x) {
  const Vec<scalar_t> two(scalar_t(2));
  return two * sigmoid(two * x) - Vec<scalar_t>(scalar_t(1));
}

void check_recurrence_inputs(const Tensor& state, const Tensor& w_hh, const char* op) {
  TORCH_CHECK(state.dim() == 2, op, ": h0 must be (N, H), got ", state.sizes());
  const int64_t H = state.size(1);
  TORCH_CHECK(w_hh.dim() == 2 && w_hh.size(0) == 3 * H && w_hh.size(1) == H, op,
              ": w_hh must be (3H, H) = (", 3 * H, ", ", H, "), got ", w_hh.sizes());
  TORCH_CHECK(state.device().is_cpu() && w_hh.device().is_cpu(), op, ": CPU tensors only");
  const auto w_type = w_hh.scalar_type();
  TORCH_CHECK(w_type == state.scalar_type() || w_type == at::kBFloat16 || w_type == at::kHalf,
              op, ": w_hh must have the state's dtype (", state.scalar_type(),
              ") or bfloat16/float16 for lower-precision matmuls, got ", w_type);
}

// src[0:c] (c <= one vector) as a vector of the state's dtype: read in place when the dtypes
// match, else converted in registers, so no row is staged through a buffer.
template <typename scalar_t, typename low_t>
inline Vec<scalar_t> load_as(const low_t* src, int64_t c) {
  if constexpr (std::is_same_v<low_t, scalar_t>) {
    return Vec<scalar_t>::loadu(src, c);
  } else if constexpr (std::is_same_v<scalar_t, float>) {
    if (c == Vec<float>::size()) {
      Vec<float> v;
      at::vec::load_to_float<low_t>(src, v);
      return v;
    }
  }
  scalar_t values[Vec<scalar_t>::size()];
  for (int64_t k = 0; k < c; ++k) values[k] = static_cast<scalar_t>(src[k]);
  return Vec<scalar_t>::loadu(values, c);
}

// dst[0:n] += src[0:n] from the matmul dtype: one pass, where an ATen add_ of mixed dtypes would
// first copy src to the state's dtype.
template <typename low_t, typename scalar_t>
inline void add_upcast(const low_t* src, scalar_t* dst, int64_t n) {
  int64_t j = 0;
  if constexpr (std::is_same_v<scalar_t, float>) {
    using VF = Vec<float>;
    for (; j + VF::size() <= n; j += VF::size()) {
      VF v;
      at::vec::load_to_float<low_t>(src + j, v);
      (VF::loadu(dst + j) + v).store(dst + j);
    }
  }
  for (; j < n; ++j) dst[j] += static_cast<scalar_t>(src[j]);
}

// A type carried as a value, so that a generic lambda can receive it (C++17).
template <typename T>
struct TypeTag {
  using type = T;
};

// Calls body(TypeTag<low_t>{}) with low_t the matmuls' dtype: scalar_t when w_hh has the
// state's dtype, else c10::BFloat16 or c10::Half.
template <typename scalar_t, typename Body>
void dispatch_matmul_dtype(const Tensor& w_hh, Body&& body) {
  if (w_hh.scalar_type() == c10::CppTypeToScalarType<scalar_t>::value) {
    body(TypeTag<scalar_t>{});
  } else if (w_hh.scalar_type() == at::kBFloat16) {
    body(TypeTag<c10::BFloat16>{});
  } else {
    body(TypeTag<c10::Half>{});
  }
}

// Forward over all T steps. gx: (T, N, 3H), h0: (N, H), w_hh: (3H, H), b_hn: (H,) or None.
// Returns hs (T, N, H), rz (T, N, 2H) = [r, z], n (T, N, H), gh_n (T, N, H) = h W_hn^T + b_hn.
std::tuple<Tensor, Tensor, Tensor, Tensor> gru_forward_recurrence(
    const Tensor& gx_in, const Tensor& h0_in, const Tensor& w_hh,
    const std::optional<Tensor>& b_hn_in) {
  check_recurrence_inputs(h0_in, w_hh, "gru_forward_recurrence");
  const int64_t T = gx_in.size(0), N = h0_in.size(0), H = h0_in.size(1);
  TORCH_CHECK(gx_in.dim() == 3 && gx_in.size(1) == N && gx_in.size(2) == 3 * H,
              "gru_forward_recurrence: gx must be (T, N, 3H) = (T, ", N, ", ", 3 * H,
              "), got ", gx_in.sizes());
  TORCH_CHECK(gx_in.scalar_type() == w_hh.scalar_type(),
              "gru_forward_recurrence: gx must have w_hh's dtype (the matmuls' dtype, ",
              w_hh.scalar_type(), "), got ", gx_in.scalar_type());
  const Tensor gx = gx_in.contiguous();
  const Tensor h0 = h0_in.contiguous();
  const Tensor w_hh_t = w_hh.t();
  Tensor b_hn;
  if (b_hn_in.has_value() && b_hn_in->defined()) {
    b_hn = b_hn_in->contiguous();
    TORCH_CHECK(b_hn.numel() == H, "gru_forward_recurrence: b_hn must have H = ", H,
                " elements, got ", b_hn.numel());
  }
  Tensor hs = at::empty({T, N, H}, h0.options());
  Tensor rz = at::empty({T, N, 2 * H}, h0.options());
  Tensor n = at::empty({T, N, H}, h0.options());
  Tensor gh_n = at::empty({T, N, H}, h0.options());

  AT_DISPATCH_FLOATING_TYPES(h0.scalar_type(), "gru_forward_recurrence", [&] {
    dispatch_matmul_dtype<scalar_t>(w_hh, [&](auto tag) {
      using low_t = typename decltype(tag)::type;
      constexpr bool low = !std::is_same_v<low_t, scalar_t>;
      using V = Vec<scalar_t>;
      const int64_t step = V::size();
      const scalar_t* b_hn_p = b_hn.defined() ? b_hn.const_data_ptr<scalar_t>() : nullptr;
      const low_t* gx_all = gx.const_data_ptr<low_t>();
      scalar_t* hs_all = hs.mutable_data_ptr<scalar_t>();
      scalar_t* rz_all = rz.mutable_data_ptr<scalar_t>();
      scalar_t* n_all = n.mutable_data_ptr<scalar_t>();
      scalar_t* ghn_all = gh_n.mutable_data_ptr<scalar_t>();
      // the caller's grad mode (off) and the like, which a pool thread does not inherit
      const at::ThreadLocalState caller_state;
      at::parallel_for(0, N, row_grain(H), [&](int64_t begin, int64_t end) {
        const at::ThreadLocalStateGuard state_guard(caller_state);
        const int64_t rows_here = end - begin;
        // this block's h_{t-1} W_hh^T in the matmuls' dtype, and h_{t-1} in it (its left
        // operand: a view of the block's rows of h_{t-1}, or a copy cast down)
        Tensor gh = at::empty({rows_here, 3 * H}, w_hh.options());
        Tensor h_mm = h0.narrow(0, begin, rows_here);
        if constexpr (low) h_mm = h_mm.to(w_hh.scalar_type());
        const scalar_t* h_p = h0.const_data_ptr<scalar_t>();
        for (int64_t t = 0; t < T; ++t) {
          at::mm_out(gh, h_mm, w_hh_t);
          const low_t* gx_p = gx_all + t * N * 3 * H;
          const low_t* gh_p = gh.const_data_ptr<low_t>();  // the block's rows, from row 0
          scalar_t* rz_p = rz_all + t * N * 2 * H;
          scalar_t* n_p = n_all + t * N * H;
          scalar_t* ghn_p = ghn_all + t * N * H;
          scalar_t* out_p = hs_all + t * N * H;
          low_t* out_mm_p = nullptr;
          if constexpr (low) out_mm_p = h_mm.mutable_data_ptr<low_t>();  // likewise
          for (int64_t i = begin; i < end; ++i) {
            const low_t* gxi = gx_p + i * 3 * H;
            const low_t* ghi = gh_p + (i - begin) * 3 * H;
            for (int64_t j = 0; j < H; j += step) {
              const int64_t c = std::min(step, H - j);
              const V r = sigmoid(load_as<scalar_t>(gxi + j, c) + load_as<scalar_t>(ghi + j, c));
              const V z = sigmoid(load_as<scalar_t>(gxi + H + j, c) +
                                  load_as<scalar_t>(ghi + H + j, c));
              V ghn = load_as<scalar_t>(ghi + 2 * H + j, c);
              if (b_hn_p) ghn = ghn + V::loadu(b_hn_p + j, c);
              const V nn = tanh(load_as<scalar_t>(gxi + 2 * H + j, c) + r * ghn);
              const V hp = V::loadu(h_p + i * H + j, c);
              r.store(rz_p + i * 2 * H + j, c);
              z.store(rz_p + i * 2 * H + H + j, c);
              ghn.store(ghn_p + i * H + j, c);
              nn.store(n_p + i * H + j, c);
              (nn + z * (hp - nn)).store(out_p + i * H + j, c);
            }
            // the next step's left operand, cast while the row is in cache
            if constexpr (low) at::vec::convert(out_p + i * H, out_mm_p + (i - begin) * H, H);
          }
          h_p = out_p;
          if constexpr (!low) h_mm = hs.select(0, t).narrow(0, begin, rows_here);
        }
      });
    });
  });
  return {hs, rz, n, gh_n};
}

// Backward recurrence. dhs: (T, N, H) gradient from above for each h_t; the rest as returned
// by gru_forward_recurrence (h0 is unused: h_t - n_t = z_t (h_{t-1} - n_t) needs only h_t).
// Returns dgh (T, N, 3H) = dL/d(h_{t-1} W_hh^T + b_hh) per gate (equal to dL/dgx for r and z),
// dgx_n (T, N, H) = dL/d(x_t W_in^T + b_in), both in the matmul dtype, and dh0 (N, H).
std::tuple<Tensor, Tensor, Tensor> gru_backward_recurrence(
    const Tensor& dhs_in, const Tensor& hs_in, const Tensor& rz_in, const Tensor& n_in,
    const Tensor& gh_n_in, const Tensor& w_hh) {
  const Tensor dhs = dhs_in.contiguous(), hs = hs_in.contiguous(), rz = rz_in.contiguous();
  const Tensor n = n_in.contiguous(), gh_n = gh_n_in.contiguous();
  TORCH_CHECK(hs.dim() == 3 && hs.size(0) > 0,
              "gru_backward_recurrence: hs must be (T, N, H) with T >= 1, got ", hs.sizes());
  const int64_t T = hs.size(0), N = hs.size(1), H = hs.size(2);
  check_recurrence_inputs(hs[0], w_hh, "gru_backward_recurrence");
  for (const Tensor* each : {&dhs, &n, &gh_n}) {
    TORCH_CHECK(each->sizes() == hs.sizes(), "gru_backward_recurrence: dhs, n and gh_n must be ",
                hs.sizes(), ", got ", each->sizes());
  }
  TORCH_CHECK(rz.dim() == 3 && rz.size(0) == T && rz.size(1) == N && rz.size(2) == 2 * H,
              "gru_backward_recurrence: rz must be (T, N, 2H), got ", rz.sizes());
  Tensor dgh = at::empty({T, N, 3 * H}, w_hh.options());
  Tensor dgx_n = at::empty({T, N, H}, w_hh.options());
  // dL/dh_t and dL/dh_{t-1}, swapped every step; after T steps dL/dh_0 is in dh_even if T
  // is even
  Tensor dh_even = dhs[T - 1].clone();
  Tensor dh_odd = at::empty({N, H}, hs.options());

  AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "gru_backward_recurrence", [&] {
    dispatch_matmul_dtype<scalar_t>(w_hh, [&](auto tag) {
      using low_t = typename decltype(tag)::type;
      constexpr bool low = !std::is_same_v<low_t, scalar_t>;
      using V = Vec<scalar_t>;
      const int64_t step = V::size();
      const V one(scalar_t(1));
      const scalar_t* dhs_all = dhs.const_data_ptr<scalar_t>();
      const scalar_t* hs_all = hs.const_data_ptr<scalar_t>();
      const scalar_t* rz_all = rz.const_data_ptr<scalar_t>();
      const scalar_t* n_all = n.const_data_ptr<scalar_t>();
      const scalar_t* ghn_all = gh_n.const_data_ptr<scalar_t>();
      low_t* dgh_all = dgh.mutable_data_ptr<low_t>();
      low_t* dgxn_all = dgx_n.mutable_data_ptr<low_t>();
      // the caller's grad mode (off) and the like, which a pool thread does not inherit
      const at::ThreadLocalState caller_state;
      at::parallel_for(0, N, row_grain(H), [&](int64_t begin, int64_t end) {
        const at::ThreadLocalStateGuard state_guard(caller_state);
        const int64_t rows_here = end - begin;
        Tensor dh = dh_even.narrow(0, begin, rows_here);
        Tensor dh_prev = dh_odd.narrow(0, begin, rows_here);
        // dgh_t W_hh in the matmul dtype, when that is not the state's
        Tensor from_gates;
        if constexpr (low) from_gates = at::empty({rows_here, H}, w_hh.options());
        // a row's results in the state's dtype: written in place, or into a buffer that is
        // cast to the matmul dtype once the row is done
        std::vector<scalar_t> rows(low ? 4 * H : 0);
        for (int64_t t = T - 1; t >= 0; --t) {
          // pointers indexed by the row i of the whole batch
          const scalar_t* dh_p = dh.const_data_ptr<scalar_t>() - begin * H;
          scalar_t* prev_p = dh_prev.mutable_data_ptr<scalar_t>() - begin * H;
          const scalar_t* above_p = t > 0 ? dhs_all + (t - 1) * N * H : nullptr;
          const scalar_t* h_p = hs_all + t * N * H;
          const scalar_t* rz_p = rz_all + t * N * 2 * H;
          const scalar_t* n_p = n_all + t * N * H;
          const scalar_t* ghn_p = ghn_all + t * N * H;
          low_t* dgh_out = dgh_all + t * N * 3 * H;
          low_t* dgxn_out = dgxn_all + t * N * H;
          for (int64_t i = begin; i < end; ++i) {
            scalar_t* dgh_row;   // (3H,) this row's dgh
            scalar_t* dgxn_row;  // (H,) this row's dgx_n
            if constexpr (low) {
              dgh_row = rows.data();
              dgxn_row = rows.data() + 3 * H;
            } else {
              dgh_row = dgh_out + i * 3 * H;
              dgxn_row = dgxn_out + i * H;
            }
            for (int64_t j = 0; j < H; j += step) {
              const int64_t c = std::min(step, H - j), k = i * H + j;
              const V d = V::loadu(dh_p + k, c);
              const V r = V::loadu(rz_p + i * 2 * H + j, c);
              const V z = V::loadu(rz_p + i * 2 * H + H + j, c);
              const V nn = V::loadu(n_p + k, c);
              const V d_n = d * (one - z);                        // dL/dn_t
              const V dz = d_n * (V::loadu(h_p + k, c) - nn);     // dh (h_{t-1} - n) z (1 - z)
              const V dn = d_n * (one - nn * nn);                 // through tanh
              const V dghn = dn * r;
              const V dr = dghn * V::loadu(ghn_p + k, c) * (one - r);  // through sigmoid
              dr.store(dgh_row + j, c);
              dz.store(dgh_row + H + j, c);
              dghn.store(dgh_row + 2 * H + j, c);
              dn.store(dgxn_row + j, c);
              V prev = d * z;
              if (above_p) prev = prev + V::loadu(above_p + k, c);
              prev.store(prev_p + k, c);
            }
            if constexpr (low) {
              at::vec::convert(rows.data(), dgh_out + i * 3 * H, 3 * H);
              at::vec::convert(rows.data() + 3 * H, dgxn_out + i * H, H);
            }
          }
          // dL/dh_{t-1} = from above + dh_t z_t + dgh_t W_hh, for this block's rows
          const Tensor dgh_rows = dgh.select(0, t).narrow(0, begin, rows_here);
          if constexpr (low) {
            at::mm_out(from_gates, dgh_rows, w_hh);
            add_upcast(from_gates.const_data_ptr<low_t>(), dh_prev.mutable_data_ptr<scalar_t>(),
                       rows_here * H);
          } else {
            dh_prev.addmm_(dgh_rows, w_hh);
          }
          std::swap(dh, dh_prev);
        }
      });
    });
  });
  return {dgh, dgx_n, T % 2 == 0 ? dh_even : dh_odd};
}

}  // namespace

TORCH_LIBRARY(rnn_mnist, m) {
  m.def("gru_forward_recurrence(Tensor gx, Tensor h0, Tensor w_hh, Tensor? b_hn)"
        " -> (Tensor, Tensor, Tensor, Tensor)");
  m.def("gru_backward_recurrence(Tensor dhs, Tensor hs, Tensor rz, Tensor n, Tensor gh_n,"
        " Tensor w_hh) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(rnn_mnist, CPU, m) {
  m.impl("gru_forward_recurrence", &gru_forward_recurrence);
  m.impl("gru_backward_recurrence", &gru_backward_recurrence);
}
