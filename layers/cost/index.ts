export { formatCostReport } from './format';
export { measuredSample, measureTraffic, perMillion, type TrafficMeasure } from './measure';
export { MEASURED } from './measured';
export {
  type CostArea,
  type CostInput,
  CostInputError,
  type CostLine,
  type CostReport,
  costModel,
} from './model';
export { PRICES, type PriceName, type UnitPrice } from './prices';
