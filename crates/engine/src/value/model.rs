//! The purchase models the engine fits, and their scoring literals: a
//! fitted model travels into plans as text (`'bgnbd:r,alpha,a,b'`,
//! `'mbgnbd:r,alpha,a,b'`, `'pareto:r,alpha,s,beta'`, `'gg:p,q,gamma'`;
//! numbers in Rust's shortest round-trip notation, so parsing gives back
//! the same bits), never as hidden state, so a Ballista executor scores
//! with exactly the fitted parameters.

use clientela_models::{
    BgNbd, BgNbdParams, CustomerSummary, FitOptions, FittedBgNbd, FittedMbgNbd, FittedParetoNbd,
    GammaGammaParams, MbgNbd, MbgNbdParams, ModelError, ParetoNbd, ParetoNbdParams, PurchaseModel,
};
use std::fmt;
use std::str::FromStr;

/// Which purchase model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// BG/NBD (Fader, Hardie, Lee 2005).
    BgNbd,
    /// MBG/NBD (Batislam, Denizel, Filiztekin 2007).
    MbgNbd,
    /// Pareto/NBD (Schmittlein, Morrison, Colombo 1987).
    ParetoNbd,
}

impl ModelKind {
    /// Every model, in the order `--model auto` tries them.
    pub const ALL: [ModelKind; 3] = [ModelKind::BgNbd, ModelKind::MbgNbd, ModelKind::ParetoNbd];

    /// The name users type and literals start with.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::BgNbd => "bgnbd",
            ModelKind::MbgNbd => "mbgnbd",
            ModelKind::ParetoNbd => "pareto",
        }
    }

    /// Names of the four parameters, in literal order.
    pub fn parameter_names(self) -> [&'static str; 4] {
        match self {
            ModelKind::BgNbd | ModelKind::MbgNbd => ["r", "alpha", "a", "b"],
            ModelKind::ParetoNbd => ["r", "alpha", "s", "beta"],
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown model {s:?}: expected bgnbd, mbgnbd or pareto"))
    }
}

/// A fitted purchase model.
#[derive(Debug, Clone, PartialEq)]
pub enum PurchaseSpec {
    /// BG/NBD.
    BgNbd(FittedBgNbd),
    /// MBG/NBD.
    MbgNbd(FittedMbgNbd),
    /// Pareto/NBD.
    ParetoNbd(FittedParetoNbd),
}

impl PurchaseSpec {
    /// Fits a model of `kind` on compressed summary rows.
    pub fn fit(
        kind: ModelKind,
        rows: &[(CustomerSummary, f64)],
        options: &FitOptions,
    ) -> Result<PurchaseSpec, ModelError> {
        Ok(match kind {
            ModelKind::BgNbd => PurchaseSpec::BgNbd(BgNbd::fit(rows, options)?),
            ModelKind::MbgNbd => PurchaseSpec::MbgNbd(MbgNbd::fit(rows, options)?),
            ModelKind::ParetoNbd => PurchaseSpec::ParetoNbd(ParetoNbd::fit(rows, options)?),
        })
    }

    /// Which model this is.
    pub fn kind(&self) -> ModelKind {
        match self {
            PurchaseSpec::BgNbd(_) => ModelKind::BgNbd,
            PurchaseSpec::MbgNbd(_) => ModelKind::MbgNbd,
            PurchaseSpec::ParetoNbd(_) => ModelKind::ParetoNbd,
        }
    }

    /// The model's predictions.
    pub fn model(&self) -> &dyn PurchaseModel {
        match self {
            PurchaseSpec::BgNbd(m) => m,
            PurchaseSpec::MbgNbd(m) => m,
            PurchaseSpec::ParetoNbd(m) => m,
        }
    }

    /// Parameter values and their standard errors (when the Hessian allowed).
    pub fn parameters(&self) -> [(f64, Option<f64>); 4] {
        fn zip(v: [f64; 4], se: Option<[f64; 4]>) -> [(f64, Option<f64>); 4] {
            std::array::from_fn(|i| (v[i], se.map(|s| s[i])))
        }
        match self {
            PurchaseSpec::BgNbd(m) => {
                let f = |p: &BgNbdParams| [p.r, p.alpha, p.a, p.b];
                zip(f(&m.params), m.standard_errors.as_ref().map(f))
            }
            PurchaseSpec::MbgNbd(m) => {
                let f = |p: &MbgNbdParams| [p.r, p.alpha, p.a, p.b];
                zip(f(&m.params), m.standard_errors.as_ref().map(f))
            }
            PurchaseSpec::ParetoNbd(m) => {
                let f = |p: &ParetoNbdParams| [p.r, p.alpha, p.s, p.beta];
                zip(f(&m.params), m.standard_errors.as_ref().map(f))
            }
        }
    }

    /// Log-likelihood at the fitted parameters (NaN when made from a literal).
    pub fn log_likelihood(&self) -> f64 {
        match self {
            PurchaseSpec::BgNbd(m) => m.log_likelihood,
            PurchaseSpec::MbgNbd(m) => m.log_likelihood,
            PurchaseSpec::ParetoNbd(m) => m.log_likelihood,
        }
    }

    /// Optimiser iterations of the fit.
    pub fn iterations(&self) -> usize {
        match self {
            PurchaseSpec::BgNbd(m) => m.iterations,
            PurchaseSpec::MbgNbd(m) => m.iterations,
            PurchaseSpec::ParetoNbd(m) => m.iterations,
        }
    }

    /// The literal the plans carry.
    pub fn literal(&self) -> String {
        let v = self.parameters().map(|(v, _)| v.to_string());
        format!("{}:{}", self.kind(), v.join(","))
    }

    /// Parses a literal made by [`PurchaseSpec::literal`].
    pub fn parse(text: &str) -> Option<PurchaseSpec> {
        let (name, numbers) = text.split_once(':')?;
        let kind: ModelKind = name.parse().ok()?;
        let [p0, p1, p2, p3]: [f64; 4] = numbers_of(numbers)?.try_into().ok()?;
        Some(match kind {
            ModelKind::BgNbd => PurchaseSpec::BgNbd(FittedBgNbd::from_params(
                BgNbdParams::new(p0, p1, p2, p3).ok()?,
            )),
            ModelKind::MbgNbd => PurchaseSpec::MbgNbd(FittedMbgNbd::from_params(
                MbgNbdParams::new(p0, p1, p2, p3).ok()?,
            )),
            ModelKind::ParetoNbd => PurchaseSpec::ParetoNbd(FittedParetoNbd::from_params(
                ParetoNbdParams::new(p0, p1, p2, p3).ok()?,
            )),
        })
    }
}

/// Literal of a fitted Gamma-Gamma spend model.
pub fn spend_literal(p: &GammaGammaParams) -> String {
    format!("gg:{},{},{}", p.p, p.q, p.gamma)
}

/// Parses a literal made by [`spend_literal`].
pub fn parse_spend(text: &str) -> Option<GammaGammaParams> {
    let [p, q, gamma]: [f64; 3] = numbers_of(text.strip_prefix("gg:")?)?.try_into().ok()?;
    GammaGammaParams::new(p, q, gamma).ok()
}

fn numbers_of(text: &str) -> Option<Vec<f64>> {
    text.split(',').map(|n| n.trim().parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_round_trip_exactly() {
        let odd = 0.243_123_456_789_012_3;
        for spec in [
            PurchaseSpec::BgNbd(FittedBgNbd::from_params(
                BgNbdParams::new(odd, 4.414, 0.793, 2.426).unwrap(),
            )),
            PurchaseSpec::MbgNbd(FittedMbgNbd::from_params(
                MbgNbdParams::new(0.525, odd, 0.891, 1.614).unwrap(),
            )),
            PurchaseSpec::ParetoNbd(FittedParetoNbd::from_params(
                ParetoNbdParams::new(0.553, 10.578, 0.606, odd).unwrap(),
            )),
        ] {
            let back = PurchaseSpec::parse(&spec.literal()).unwrap();
            assert_eq!(back.parameters(), spec.parameters(), "{}", spec.literal());
        }
        let g = GammaGammaParams::new(6.25, 3.74, odd).unwrap();
        assert_eq!(parse_spend(&spend_literal(&g)), Some(g));
        for bad in [
            "bgnbd:1,2,3",
            "bgnbd:1,2,3,-4",
            "pnbd:1,2,3,4",
            "bgnbd",
            "gg:1,2",
        ] {
            assert!(
                PurchaseSpec::parse(bad).is_none() && parse_spend(bad).is_none(),
                "{bad}"
            );
        }
    }
}
