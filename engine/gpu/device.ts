/**
 * Acquires a WebGPU device through Dawn's Node binding (the `webgpu` package).
 *
 * On Linux without a hardware adapter it falls back by itself to SwiftShader, the CPU Vulkan driver that Debian's
 * chromium package ships, and says so. It asks for the adapter's own limits (the defaults cap a binding at 128 MiB)
 * and turns on `shader-f16`, `subgroups` and `timestamp-query` where the adapter has them.
 */
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { NoAdapterError } from './errors.ts';

Object.assign(globalThis, globals);

/** Where Debian's chromium (and a few other distributions) put SwiftShader's Vulkan ICD manifest. */
const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/share/vulkan/icd.d/vk_swiftshader_icd.json',
];

/** Limits we ask for at the adapter's maximum rather than WebGPU's conservative defaults. */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
] as const;

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (SwiftShader): correct, but no measure of real GPU speed. */
  software: boolean;
  /** Which Vulkan ICD was forced, when the engine had to pick one itself. */
  forcedIcd?: string;
}

export interface GpuFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
  /** Smallest subgroup size the adapter may use (0 when subgroups are absent). */
  subgroupMinSize: number;
}

export interface DeviceOptions {
  /**
   * Turn off Dawn's robustness checks and validation for speed (Dawn toggles `disable_robustness,skip_validation`).
   * Bugs then show up as wrong numbers instead of errors, so tests leave this off.
   */
  fast?: boolean;
  /** Skip hardware adapters and use SwiftShader (tests use it so CI and laptops run the same driver). */
  software?: boolean;
  /** Ignore features, to test fallbacks: e.g. ['subgroups']. */
  disableFeatures?: string[];
  /**
   * A Vulkan driver manifest the user forced (the host reads VK_ICD_FILENAMES): only the drivers it names are tried,
   * and no SwiftShader fallback replaces them.
   */
  userIcd?: string;
  /** Where SwiftShader's driver manifest is, when it is not in one of the known places (SWIFTSHADER_ICDS). */
  swiftShaderIcd?: string;
  log?: (message: string) => void;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: AdapterDescription;
  features: GpuFeatures;
  limits: GPUSupportedLimits;
}

function dawnToggles(options: DeviceOptions): string[] {
  const enable = options.fast ? ['disable_robustness', 'skip_validation'] : [];
  // timestamp_quantization: keep benchmark timestamps exact. use_vulkan_zero_initialize_workgroup_memory_extension:
  // with it, SwiftShader zero-fills workgroup memory with fully unrolled code, so shaders with tiles in workgroup memory
  // took 7-25 s to compile and ran ~2x slower; without it Dawn zero-fills with a loop in the shader (same semantics).
  const toggles = [
    'disable-dawn-features=timestamp_quantization,use_vulkan_zero_initialize_workgroup_memory_extension',
  ];
  if (enable.length) toggles.push(`enable-dawn-features=${enable.join(',')}`);
  return toggles;
}

function findSwiftShaderIcd(given: string | undefined): string | undefined {
  if (given && existsSync(given)) return given;
  return SWIFTSHADER_ICDS.find((path) => existsSync(path));
}

/**
 * Dawn's instances and adapters must outlive their devices: when the GC collects the GPU object that made a device,
 * work in flight on that device crashes the process (seen on SwiftShader). They are few, so keep them all.
 */
const keepAlive: object[] = [];

/**
 * The Vulkan loader takes its ICD list only from the process environment, read when Dawn creates an instance, and
 * Dawn has no option for it: so falling back to SwiftShader means setting VK_ICD_FILENAMES here, the one place the
 * engine writes to the environment.
 */
function useVulkanIcd(path: string): void {
  process.env.VK_ICD_FILENAMES = path;
}

async function requestAdapter(options: DeviceOptions): Promise<GPUAdapter | null> {
  const gpu = create(dawnToggles(options));
  keepAlive.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) keepAlive.push(adapter);
  return adapter;
}

function describe(adapter: GPUAdapter, forcedIcd: string | undefined): AdapterDescription {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor || 'unknown',
    architecture: info.architecture || 'unknown',
    device: info.device || '',
    description: info.description || '',
    software: text.includes('swiftshader') || text.includes('llvmpipe') || text.includes('lavapipe'),
    ...(forcedIcd ? { forcedIcd } : {}),
  };
}

/** A one-line name for logs and benchmark headers, e.g. "google swiftshader (SwiftShader Device (Subzero)) [CPU]". */
export function adapterName(adapter: AdapterDescription): string {
  const detail = adapter.description || adapter.device;
  return `${adapter.vendor} ${adapter.architecture}${detail ? ` (${detail})` : ''}${adapter.software ? ' [CPU]' : ''}`;
}

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const log = options.log ?? (() => {});
  let forcedIcd: string | undefined;
  let adapter: GPUAdapter | null = null;
  const tried: string[] = [];

  const userIcd = options.userIcd;
  if (!options.software || userIcd) {
    adapter = await requestAdapter(options);
    tried.push(`default drivers${userIcd ? ` (VK_ICD_FILENAMES=${userIcd})` : ''}`);
  }
  if (!adapter && process.platform === 'linux' && !userIcd) {
    const icd = findSwiftShaderIcd(options.swiftShaderIcd);
    if (icd) {
      useVulkanIcd(icd);
      forcedIcd = icd;
      adapter = await requestAdapter(options);
      tried.push(`SwiftShader (${icd})`);
      if (adapter) log(`No hardware GPU adapter found; using SwiftShader, a CPU Vulkan driver (${icd}).`);
    } else {
      tried.push(`SwiftShader (no ICD in ${SWIFTSHADER_ICDS.join(', ')}; install Debian's chromium package)`);
    }
  }
  if (!adapter) {
    throw new NoAdapterError(`No WebGPU adapter found. Tried: ${tried.join('; ')}.`);
  }

  const disabled = new Set(options.disableFeatures ?? []);
  const has = (feature: string) => adapter.features.has(feature) && !disabled.has(feature);
  const wanted = ['shader-f16', 'subgroups', 'timestamp-query'].filter(has) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) requiredLimits[key] = adapter.limits[key];
  const device = await adapter.requestDevice({
    label: 'plas',
    requiredFeatures: wanted,
    requiredLimits,
  });
  const description = describe(adapter, forcedIcd);
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number };
  const features: GpuFeatures = {
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    timestampQuery: device.features.has('timestamp-query'),
    subgroupMinSize: device.features.has('subgroups') ? (info.subgroupMinSize ?? 4) : 0,
  };
  log(
    `WebGPU adapter: ${adapterName(description)}; features: ${wanted.join(', ') || 'none'}; ` +
      `max binding ${Math.round(device.limits.maxStorageBufferBindingSize / 2 ** 20)} MiB`,
  );
  return { device, adapter: description, features, limits: device.limits };
}
