import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Kpi, KpiSink } from './kpi';

/** Publishes KPIs as CloudWatch metrics (EMF) through Powertools Metrics. */
export class PowertoolsKpiSink implements KpiSink {
  constructor(private readonly metrics: Metrics) {}

  publish(kpis: readonly Kpi[]): void {
    let stored = 0;
    for (const kpi of kpis) {
      const unit = kpi.unit === 'Milliseconds' ? MetricUnit.Milliseconds : MetricUnit.Count;
      if (kpi.dimension) {
        // One metric, one extra dimension: a series the dashboard can name exactly.
        const single = this.metrics.singleMetric();
        single.addDimension(kpi.dimension.name, kpi.dimension.value);
        single.addMetric(kpi.name, unit, kpi.value);
      } else {
        this.metrics.addMetric(kpi.name, unit, kpi.value);
        stored++;
      }
    }
    if (stored > 0) this.metrics.publishStoredMetrics();
  }
}
