// The sequential part of FusedGRU's forward and backward on CPU, one C++ loop over time.
//
// Why: in Python each GRU time step is a dozen small ATen ops on (N, H) tiles, whose dispatch
// and parallel-region overhead, not arithmetic, dominates small tiles. Here each step is one
// matmul (at::mm_out / addmm_) plus one pass over the tile that computes all gates with
// vectorized exp (ATen's Vectorized).
//
// Shapes: N batch, T steps, H hidden. Gate order r, z, n, as nn.GRU:
//   r_t = sigmoid(gx_r + h_{t-1} W_hr^T + b_hr)     (gx_* hold x_t W_i*^T + every bias
//   z_t = sigmoid(gx_z + h_{t-1} W_hz^T + b_hz)      except b_hn, which the Python side
//   n_t = tanh(gx_n + r_t * (h_{t-1} W_hn^T + b_hn)) adds once for all T steps)
//   h_t = (1 - z_t) * n_t + z_t * h_{t-1}
// The Python reference of both loops is lightning_module/gru/recurrence.py; the tests compare
// the two, and FusedGRU with either against nn.GRU.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>

namespace {

using at::Tensor;

template <typename scalar_t>
using Vec = at::vec::Vectorized<scalar_t>;

// Rows per parallel chunk: a chunk below ~8k elements costs more to hand to a thread than
// it saves.
int64_t row_grain(int64_t H) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, H)); }

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

void check_recurrence_inputs(const Tensor& h0, const Tensor& w_hh, const char* op) {
  TORCH_CHECK(h0.dim() == 2, op, ": h0 must be (N, H), got ", h0.sizes());
  const int64_t H = h0.size(1);
  TORCH_CHECK(w_hh.dim() == 2 && w_hh.size(0) == 3 * H && w_hh.size(1) == H, op,
              ": w_hh must be (3H, H) = (", 3 * H, ", ", H, "), got ", w_hh.sizes());
  TORCH_CHECK(h0.device().is_cpu() && w_hh.device().is_cpu(), op, ": CPU tensors only");
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
  const Tensor gx = gx_in.contiguous();
  const Tensor h0 = h0_in.contiguous();
  const Tensor w_hh_t = w_hh.t();
  Tensor b_hn;
  if (b_hn_in.has_value() && b_hn_in->defined()) {
    b_hn = b_hn_in->contiguous();
    TORCH_CHECK(b_hn.numel() == H, "gru_forward_recurrence: b_hn must have H = ", H,
                " elements, got ", b_hn.numel());
  }
  Tensor hs = at::empty({T, N, H}, gx.options());
  Tensor rz = at::empty({T, N, 2 * H}, gx.options());
  Tensor n = at::empty({T, N, H}, gx.options());
  Tensor gh_n = at::empty({T, N, H}, gx.options());
  Tensor gh = at::empty({N, 3 * H}, gx.options());

  AT_DISPATCH_FLOATING_TYPES(gx.scalar_type(), "gru_forward_recurrence", [&] {
    using V = Vec<scalar_t>;
    const int64_t step = V::size();
    const scalar_t* b_hn_p = b_hn.defined() ? b_hn.const_data_ptr<scalar_t>() : nullptr;
    Tensor h = h0;
    for (int64_t t = 0; t < T; ++t) {
      at::mm_out(gh, h, w_hh_t);
      const scalar_t* gx_p = gx[t].const_data_ptr<scalar_t>();
      const scalar_t* gh_p = gh.const_data_ptr<scalar_t>();
      const scalar_t* h_p = h.const_data_ptr<scalar_t>();
      scalar_t* rz_p = rz[t].mutable_data_ptr<scalar_t>();
      scalar_t* n_p = n[t].mutable_data_ptr<scalar_t>();
      scalar_t* ghn_p = gh_n[t].mutable_data_ptr<scalar_t>();
      scalar_t* out_p = hs[t].mutable_data_ptr<scalar_t>();
      at::parallel_for(0, N, row_grain(H), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const scalar_t* gxi = gx_p + i * 3 * H;
          const scalar_t* ghi = gh_p + i * 3 * H;
          for (int64_t j = 0; j < H; j += step) {
            const int64_t c = std::min(step, H - j);
            const V r = sigmoid(V::loadu(gxi + j, c) + V::loadu(ghi + j, c));
            const V z = sigmoid(V::loadu(gxi + H + j, c) + V::loadu(ghi + H + j, c));
            V ghn = V::loadu(ghi + 2 * H + j, c);
            if (b_hn_p) ghn = ghn + V::loadu(b_hn_p + j, c);
            const V nn = tanh(V::loadu(gxi + 2 * H + j, c) + r * ghn);
            const V hp = V::loadu(h_p + i * H + j, c);
            r.store(rz_p + i * 2 * H + j, c);
            z.store(rz_p + i * 2 * H + H + j, c);
            ghn.store(ghn_p + i * H + j, c);
            nn.store(n_p + i * H + j, c);
            (nn + z * (hp - nn)).store(out_p + i * H + j, c);
          }
        }
      });
      h = hs[t];
    }
  });
  return {hs, rz, n, gh_n};
}

// Backward recurrence. dhs: (T, N, H) gradient from above for each h_t; the rest as returned
// by gru_forward_recurrence (h0 is unused: h_t - n_t = z_t (h_{t-1} - n_t) needs only h_t).
// Returns dgh (T, N, 3H) = dL/d(h_{t-1} W_hh^T + b_hh) per gate (equal to dL/dgx for r and z),
// dgx_n (T, N, H) = dL/d(x_t W_in^T + b_in), and dh0 (N, H).
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
  Tensor dgh = at::empty({T, N, 3 * H}, hs.options());
  Tensor dgx_n = at::empty({T, N, H}, hs.options());
  Tensor dh = dhs[T - 1].clone();
  Tensor dh_prev = at::empty({N, H}, hs.options());

  AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "gru_backward_recurrence", [&] {
    using V = Vec<scalar_t>;
    const int64_t step = V::size();
    const V one(scalar_t(1));
    for (int64_t t = T - 1; t >= 0; --t) {
      const scalar_t* dh_p = dh.const_data_ptr<scalar_t>();
      const scalar_t* above_p = t > 0 ? dhs[t - 1].const_data_ptr<scalar_t>() : nullptr;
      const scalar_t* h_p = hs[t].const_data_ptr<scalar_t>();
      const scalar_t* rz_p = rz[t].const_data_ptr<scalar_t>();
      const scalar_t* n_p = n[t].const_data_ptr<scalar_t>();
      const scalar_t* ghn_p = gh_n[t].const_data_ptr<scalar_t>();
      scalar_t* dgh_p = dgh[t].mutable_data_ptr<scalar_t>();
      scalar_t* dgxn_p = dgx_n[t].mutable_data_ptr<scalar_t>();
      scalar_t* prev_p = dh_prev.mutable_data_ptr<scalar_t>();
      at::parallel_for(0, N, row_grain(H), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
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
            dr.store(dgh_p + i * 3 * H + j, c);
            dz.store(dgh_p + i * 3 * H + H + j, c);
            dghn.store(dgh_p + i * 3 * H + 2 * H + j, c);
            dn.store(dgxn_p + k, c);
            V prev = d * z;
            if (above_p) prev = prev + V::loadu(above_p + k, c);
            prev.store(prev_p + k, c);
          }
        }
      });
      // dL/dh_{t-1} = from above + dh_t z_t + dgh_t W_hh
      dh_prev.addmm_(dgh[t], w_hh);
      std::swap(dh, dh_prev);
    }
  });
  return {dgh, dgx_n, dh};
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
