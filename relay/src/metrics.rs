//! What `/metrics` reports, in the Prometheus text format. Counts only: no peer ids, addresses
//! or namespaces ever become label values, so metrics cannot be joined into a who-talks-to-whom
//! log.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels of a rejected input: which part of the relay refused it and why.
pub(crate) type RejectLabels = [(&'static str, &'static str); 2];

/// Handles to every Quire-specific metric. Cheap to clone (the values are shared atomics).
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    /// Open libp2p connections.
    pub(crate) connections: Gauge,
    /// Active circuit relay reservations.
    pub(crate) reservations: Gauge,
    /// Active relayed circuits.
    pub(crate) circuits: Gauge,
    /// Live presence (rendezvous) registrations.
    pub(crate) presence_registrations: Gauge,
    /// Inputs refused by a limit or a validity check.
    rejected: Family<RejectLabels, Counter>,
}

impl Metrics {
    /// Creates the metrics and registers them under the `quire` prefix.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            connections: Gauge::default(),
            reservations: Gauge::default(),
            circuits: Gauge::default(),
            presence_registrations: Gauge::default(),
            rejected: Family::default(),
        };
        let quire = registry.sub_registry_with_prefix("quire");
        quire.register(
            "connections",
            "Open libp2p connections",
            metrics.connections.clone(),
        );
        quire.register(
            "relay_reservations",
            "Active circuit relay v2 reservations",
            metrics.reservations.clone(),
        );
        quire.register(
            "relay_circuits",
            "Active relayed circuits",
            metrics.circuits.clone(),
        );
        quire.register(
            "presence_registrations",
            "Live presence registrations",
            metrics.presence_registrations.clone(),
        );
        quire.register(
            "rejected_inputs",
            "Inputs refused by a limit or a validity check, by component and reason",
            metrics.rejected.clone(),
        );
        metrics
    }

    /// Counts one refused input, e.g. `reject("presence", "oversized")`.
    pub(crate) fn reject(&self, component: &'static str, reason: &'static str) {
        self.rejected
            .get_or_create(&[("component", component), ("reason", reason)])
            .inc();
    }
}

/// The finished registry, shared read-only with the HTTP side.
#[derive(Debug, Clone)]
pub(crate) struct MetricsRegistry(pub(crate) Arc<Registry>);

impl MetricsRegistry {
    /// Renders every registered metric as Prometheus text.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        // Encoding into a String cannot fail: fmt::Write for String is infallible.
        let _infallible = encode(&mut text, &self.0);
        text
    }
}
