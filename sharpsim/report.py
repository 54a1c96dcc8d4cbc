"""The bounds report: every coverage / margin / concentrability quantity of an instance and every
applicable bound's (n, N, m) or T, with the order-only results marked (SPEC 3-6).

:func:`bounds_report` is what ``sharpsim bounds`` prints; :func:`format_bounds_report` renders it
as a readable table.
"""

from __future__ import annotations

import math

import numpy as np

from . import bounds as B
from ._validate import check_open_unit, check_positive, check_real, is_model, log_table_of, mu_of

__all__ = ["bounds_report", "format_bounds_report", "DEFAULT_LOG_CLASS_SIZE"]

DEFAULT_LOG_CLASS_SIZE = math.log(1000.0)
"""ln|Pi| used when the instance does not define its class (ln 1000; a user option)."""


def _resolve(instance):
    """(model, description, log_class_size_from_instance or None, extras dict)."""
    from .instances.hard import HardInstance
    from .instances.separation import J1Instance

    if isinstance(instance, HardInstance):
        model = instance.model(np.ones(instance.d, dtype=np.int64))
        extras = {"kind": "hard", "d": instance.d, "M": instance.M, "Delta": instance.Delta, "gamma": instance.gamma}
        desc = f"hard family (SPEC 4.4) d={instance.d}, M={instance.M}, Delta={instance.Delta:g}; member I=(1,..,1) (all members have the same quantities)"
        return model, desc, instance.log_class_size, extras
    if isinstance(instance, J1Instance):
        return instance.base, f"Example J.1 d={instance.d}, |Y|={instance.Y}", None, {"kind": "j1", "d": instance.d, "J1": instance}
    if is_model(instance):
        return instance, repr(instance), None, {"kind": "model"}
    lt = log_table_of(instance, "model_or_instance")
    from .models import TabularLM

    model = TabularLM.from_log_probs(lt)
    return model, repr(model), None, {"kind": "table"}


def bounds_report(
    model_or_instance,
    eps,
    delta,
    rho,
    beta=None,
    log_class_size=None,
    SEC=None,
    constant: float = 1.0,
    mu=None,
) -> dict:
    """Every coverage / margin / concentrability quantity and every applicable bound (SPEC 3-6).

    Args:
      model_or_instance: a HardInstance (uses ln|Pi| = d ln M), a J1Instance, any sharpsim model,
        or an [X, Y] table.
      eps, delta, rho: targets in (0, 1).
      beta: the RLHF regularisation; default: the F14 sufficient beta
        gamma_margin / (2 ln(2|Y|/delta)) when the margin is positive and finite, else the exact
        largest beta (:func:`sharpsim.bounds.tilted_beta_exact`) when finite, else 0.1.
      log_class_size: ln|Pi| of the model class; required for non-hard instances, default
        ln 1000 (recorded in ``notes``).
      SEC: the class's SEC for Theorem 4.3 (XPO); for Example J.1 Theorem J.3 is used instead;
        otherwise the XPO rows are skipped when SEC is None.
      constant: the constant used in every order-only result.
      mu: prompt distribution (default: the model's own).

    Returns a JSON-friendly dict: ``instance``, ``targets``, ``quantities``, ``bounds`` (a list of
    :meth:`Prescription.as_dict` rows, each with ``order_only``), ``skipped`` (theorem, reason) and
    ``notes``.
    """
    from . import quantities as Q

    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    constant = check_positive(check_real(constant, "constant"), "constant")
    model, desc, inst_log, extras = _resolve(model_or_instance)
    notes = []
    if inst_log is not None:
        if log_class_size is not None:
            notes.append("log_class_size given by the user overrides the family's d ln M")
        else:
            log_class_size = inst_log
            notes.append("log|Pi| = d ln M: the hard family's class (F6)")
    if log_class_size is None:
        log_class_size = DEFAULT_LOG_CLASS_SIZE
        notes.append(f"log|Pi| = ln 1000 = {DEFAULT_LOG_CLASS_SIZE:.4f} by default: the instance does not define a finite class (user option)")
    elif inst_log is None:
        notes.append(f"log|Pi| = {log_class_size:g} given by the user")
    log_class_size = float(log_class_size)

    lp = np.asarray(log_table_of(model, "model"))
    m_mu = mu_of(mu, model, lp.shape[0])
    X, Y = lp.shape
    C_cov = Q.coverage(model, mu=m_mu)
    C_cov_half = Q.coverage(model, mu=m_mu, gamma=0.5)
    C_bar = Q.adaptive_coverage(model, mu=m_mu)
    gmargin = Q.margin(model, mu=m_mu)
    star = Q.argmax_set(model)
    sizes = star.sum(axis=1)[m_mu > 0]
    p_star = Q.argmax_mass(model, model)[m_mu > 0]
    beta_exact = B.tilted_beta_exact(model, delta, mu=m_mu)
    beta_suff = B.tilted_beta_sufficient(gmargin, Y, delta) if (gmargin > 0 and math.isfinite(gmargin)) else None
    if beta is None:
        if beta_suff is not None:
            beta, beta_src = beta_suff, "F14 sufficient beta gamma_margin/(2 ln(2|Y|/delta))"
        elif math.isfinite(beta_exact):
            beta, beta_src = beta_exact, "exact largest beta with min_x pi*_beta(y*|x) >= 1 - delta/2"
        else:
            beta, beta_src = 0.1, "default 0.1"
    else:
        beta = check_positive(check_real(beta, "beta"), "beta")
        beta_src = "user"
    from .models import TabularLM

    # pi*_beta as a log-table model, so tiny tilted probabilities stay exact (no exp underflow);
    # log_tilted keeps core.tilted's bits wherever that normalises and fixes the rows it does not
    tilt = TabularLM.from_log_probs(Q.log_tilted(model, beta), m_mu)
    C_tilt = Q.concentrability(tilt, model, mu=m_mu)
    C_base_tilt = Q.concentrability(model, tilt, mu=m_mu, beta=beta)
    tilt_mass_min = float(Q.argmax_mass(tilt, model)[m_mu > 0].min())

    quantities = {
        "X": int(X),
        "Y": int(Y),
        "C_cov": C_cov,
        "C_cov_gamma_0.5": C_cov_half,
        "C_bar_cov": C_bar,
        "gamma_margin": gmargin,
        "max_argmax_set_size": int(sizes.max()),
        "min_argmax_mass": float(p_star.min()),
        "log_class_size": log_class_size,
        "beta": beta,
        "beta_source": beta_src,
        "beta_sufficient_F14": beta_suff,
        "beta_exact": beta_exact,
        "tilted_argmax_mass_min": tilt_mass_min,
        "C_pi*_beta": C_tilt,
        "C_base/pi*_beta;beta": C_base_tilt,
        "C_loss_proxy_|Y|": float(Y),
        "C_conc_proxy_C_cov": C_cov,
    }
    if extras["kind"] == "hard":
        quantities.update({"d": extras["d"], "M": extras["M"], "Delta": extras["Delta"], "C_cov_formula_F11": (1 - extras["Delta"]) + extras["Delta"] * (1 - extras["gamma"]) * extras["M"]})

    rows: list[dict] = []
    skipped: list[dict] = []

    def add(fn, *args, **kw):
        try:
            rows.append(fn(*args, **kw).as_dict())
        except ValueError as exc:
            skipped.append({"theorem": fn.__name__, "reason": str(exc)})

    # exact / derived-constant results
    add(B.bon_inference, float(p_star.min()), rho)
    rows[-1]["theorem"] += " at the worst prompt"
    add(B.sft_sample_complexity, C_cov, log_class_size, eps, delta, rho)
    add(B.adaptive_sft_sample_complexity, C_bar, log_class_size, eps, delta, rho)
    # order-only results
    add(B.sft_paper_parameters, C_cov, log_class_size, eps, delta, rho, constant=constant)
    add(B.lower_bound_sample_complexity, C_cov, log_class_size, eps, constant=constant)
    add(B.lower_bound_sample_complexity, C_cov, log_class_size, eps, adaptive=True, constant=constant)
    if extras["kind"] == "hard":
        if extras["M"] >= 8:
            add(B.hard_instance_threshold, extras["d"], extras["M"], extras["Delta"], constant=constant)
        else:
            skipped.append({"theorem": "Lemma H.3", "reason": "needs M >= 8"})
    if gmargin > 0:
        g_use = gmargin if math.isfinite(gmargin) else 1.0
        add(B.dpo_sample_complexity, C_cov, float(Y), log_class_size, g_use, eps, delta, rho, constant=constant)
        if rows and rows[-1]["theorem"].startswith("Thm 4.2"):
            rows[-1]["notes"] += "; C_conc proxy = C_cov and C_loss proxy = |Y| (the smallest values Assumption 4.4 allows)"
        if extras["kind"] == "j1":
            j1 = extras["J1"]
            logY = math.log(2 * Y / delta)
            Bnorm = max(1.0, 3.0 * logY * float(np.linalg.norm(j1.theta_star)) / g_use)
            add(B.linear_softmax_xpo, j1.d, Bnorm, Y, g_use, eps, delta, rho, constant=constant)
            if rows and rows[-1]["theorem"].startswith("Thm J.3"):
                rows[-1]["params"]["B"] = Bnorm
                rows[-1]["notes"] += f"; B = {Bnorm:.4g}, the smallest B >= 1 meeting the norm condition"
        elif SEC is not None:
            add(B.xpo_sample_complexity, SEC, log_class_size, g_use, eps, delta, rho, Y, constant=constant)
        else:
            skipped.append({"theorem": "Thm 4.3 / J.2 XPO", "reason": "SEC of the class not given (--sec on the command line, SEC= in bounds_report)"})
    else:
        skipped.append({"theorem": "Thm 4.2 DPO, Thm 4.3 XPO", "reason": "no positive margin (Assumption 4.2 fails)"})
    return {
        "instance": desc,
        "targets": {"eps": eps, "delta": delta, "rho": rho, "constant": constant},
        "quantities": quantities,
        "bounds": rows,
        "skipped": skipped,
        "notes": notes,
    }


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) < 10**12 else f"{v:.4g}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v.is_integer() and abs(v) < 10**12:
            return f"{int(v):,}"
        return f"{v:.4g}"
    return str(v)


def format_bounds_report(report: dict) -> str:
    """Readable table of :func:`bounds_report`; order-only rows are marked "order-only (constant=c)"."""
    lines = [f"sharpsim bounds: {report['instance']}"]
    t = report["targets"]
    lines.append(f"targets: eps={t['eps']:g}  delta={t['delta']:g}  rho={t['rho']:g}   (natural logs; m = n N total queries)")
    lines.append("")
    lines.append("quantities (exact, float64):")
    q = report["quantities"]
    w = max(len(k) for k in q)
    for k, v in q.items():
        lines.append(f"  {k:<{w}}  {_fmt(v)}")
    lines.append("")
    head = ("result", "n", "N", "m", "T", "error bound", "kind")
    table = []
    for r in report["bounds"]:
        kind = f"order-only (constant={r['constant']:g})" if r["order_only"] else ("exact" if "exact" in r["theorem"] else "derived constant")
        table.append((r["theorem"], _fmt(r["n"]), _fmt(r["N"]), _fmt(r["m"]), _fmt(r["T"]), _fmt(r["error_bound"]), kind))
    widths = [max(len(head[i]), *(len(row[i]) for row in table)) for i in range(len(head))]
    lines.append("bounds:")
    lines.append("  " + "  ".join(h.ljust(widths[i]) for i, h in enumerate(head)))
    lines.append("  " + "  ".join("-" * widths[i] for i in range(len(head))))
    for row in table:
        lines.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)))
    lines.append("")
    lines.append("prescribed parameters:")
    for r in report["bounds"]:
        if r["params"]:
            ps = ", ".join(f"{k}={_fmt(v)}" for k, v in r["params"].items())
            lines.append(f"  {r['theorem']}: {ps}")
    if report["skipped"]:
        lines.append("")
        lines.append("not applicable:")
        for s in report["skipped"]:
            lines.append(f"  {s['theorem']}: {s['reason']}")
    if report["notes"]:
        lines.append("")
        lines.append("notes:")
        for n in report["notes"]:
            lines.append(f"  - {n}")
    lines.append("  - order-only rows hold up to an unknown absolute constant; only their scaling is meaningful (SPEC 10.1, D12)")
    return "\n".join(lines)
