// KV pool element type f32 (cache.dtype 'f32'): a pool vec4 is a vec4<f32>, read and stored as is.
// Contract (with kv_f16.wgsl): `KvVec` is the pool's element per 4 values of a row, kv_load() widens one to f32 and
// kv_store() narrows 4 f32 values to one (kernels declare `k_pool`, `v_pool: array<KvVec>`).
alias KvVec = vec4<f32>;
fn kv_load(x: KvVec) -> vec4<f32> { return x; }
fn kv_store(x: vec4<f32>) -> KvVec { return x; }
