/**
 * Time-varying linear-Gaussian controllers (iLQG, paper Sec. 3 eq. 4 and appendix 8.1):
 *   pi_t(u | x) = N(u_hat_t + k_t + K_t (x - x_hat_t), Sigma_t),   Sigma_t = c * Quu_t^-1
 * (signs as for maximising reward; Quu is the negated Hessian of the reward-to-go in u).
 */
export interface LinearGaussianController {
  T: number;
  dX: number;
  dU: number;
  /** T entries of [dU*dX] row-major, feedback gain */
  K: Float64Array[];
  /** T entries of [dU], feedforward correction */
  k: Float64Array[];
  /** T entries of [dX], nominal states x_hat_t */
  xHat: Float64Array[];
  /** T entries of [dU], nominal actions u_hat_t (N·m) */
  uHat: Float64Array[];
  /** T entries of [dU*dU], action covariance Sigma_t */
  cov: Float64Array[];
  /** T entries of [dU*dU], lower Cholesky factor of cov */
  chol: Float64Array[];
}
