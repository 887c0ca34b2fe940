# cuBLAS through PyTorch (FP32 with TF32 off, and FP16 with FP32 accumulation): the same-run
# peer of f32-ops' matrix products. On the GPU machine: /opt/torch/.venv/bin/python3 cublas_sgemm.py
import time, torch
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
dev = torch.device("cuda")
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
def med(xs):
    xs = sorted(xs); return xs[len(xs) // 2]
for n in [100, 500, 1000, 4096]:
    for dtype, name in [(torch.float32, "fp32 (TF32 off)"), (torch.float16, "fp16 (fp32 accumulate)")]:
        a = torch.rand(n, n, device=dev, dtype=dtype); b = torch.rand(n, n, device=dev, dtype=dtype)
        for _ in range(5): torch.matmul(a, b)
        torch.cuda.synchronize()
        reps = 20 if n == 4096 else 100
        ts = []
        for _ in range(9):
            e0 = torch.cuda.Event(enable_timing=True); e1 = torch.cuda.Event(enable_timing=True)
            e0.record()
            for _ in range(reps): torch.matmul(a, b)
            e1.record(); torch.cuda.synchronize()
            ts.append(e0.elapsed_time(e1) / reps)
        t = med(ts)
        print(f"cuBLAS {name} matmul {n}: {t:.4f} ms resident (median of 9, each the mean of {reps}), {2*n**3/t/1e9:.1f} TFLOP/s")
    # host to host, fp32: pageable CPU tensors in, result back to a CPU tensor
    ha = torch.rand(n, n); hb = torch.rand(n, n)
    for _ in range(3): torch.matmul(ha.to(dev), hb.to(dev)).cpu()
    ts = []
    for _ in range(9):
        t0 = time.perf_counter(); torch.matmul(ha.to(dev), hb.to(dev)).cpu(); ts.append((time.perf_counter() - t0) * 1e3)
    print(f"PyTorch fp32 matmul {n} host to host (pageable tensors): {med(ts):.4f} ms (median of 9)")
