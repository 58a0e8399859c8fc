/** Test helper: writes params objects as YAML (js-yaml). */
import yaml from 'js-yaml';
export const stringify = (o: unknown): string => yaml.dump(o);
