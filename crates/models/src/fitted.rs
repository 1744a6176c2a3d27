//! What every fitted purchase model has in common: built from known
//! parameters, and predicting through its parameters' methods.

/// For a fitted purchase model `$fitted` (fields `params`,
/// `log_likelihood`, `standard_errors`, `iterations`) over `$params`:
/// `from_params`, the four predictions delegated to the parameters, and
/// [`crate::PurchaseModel`].
macro_rules! fitted_purchase_model {
    ($fitted:ty, $params:ty) => {
        impl $fitted {
            /// A fitted model from known parameters (e.g. published ones),
            /// without likelihood or standard errors.
            pub fn from_params(params: $params) -> Self {
                Self {
                    params,
                    log_likelihood: f64::NAN,
                    standard_errors: None,
                    iterations: 0,
                }
            }

            /// E[Y(t) | x, t_x, T]: see the parameters' method.
            pub fn expected_purchases(&self, t: f64, c: &$crate::CustomerSummary) -> f64 {
                self.params.expected_purchases(t, c)
            }

            /// E[X(t)] of a new customer: see the parameters' method.
            pub fn expected_purchases_new(&self, t: f64) -> f64 {
                self.params.expected_purchases_new(t)
            }

            /// P(alive | x, t_x, T): see the parameters' method.
            pub fn p_alive(&self, c: &$crate::CustomerSummary) -> f64 {
                self.params.p_alive(c)
            }

            /// E[Y(t) | alive, x, t_x, T]: see the parameters' method.
            pub fn expected_purchases_if_alive(&self, t: f64, c: &$crate::CustomerSummary) -> f64 {
                self.params.expected_purchases_if_alive(t, c)
            }
        }

        impl $crate::PurchaseModel for $fitted {
            fn expected_purchases(&self, t: f64, customer: &$crate::CustomerSummary) -> f64 {
                self.params.expected_purchases(t, customer)
            }
            fn p_alive(&self, customer: &$crate::CustomerSummary) -> f64 {
                self.params.p_alive(customer)
            }
            fn expected_purchases_new(&self, t: f64) -> f64 {
                self.params.expected_purchases_new(t)
            }
            fn expected_purchases_if_alive(
                &self,
                t: f64,
                customer: &$crate::CustomerSummary,
            ) -> f64 {
                self.params.expected_purchases_if_alive(t, customer)
            }
        }
    };
}
