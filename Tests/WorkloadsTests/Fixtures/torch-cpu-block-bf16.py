# Records a PyTorch profiler (Kineto) trace of one small transformer MLP + attention block in bf16 on the CPU,
# with record_shapes=True, for xpusim's import tests.
import torch
from torch.profiler import profile, ProfilerActivity
torch.manual_seed(0)
h, f, t, heads = 512, 1408, 256, 8
x = torch.randn(t, h, dtype=torch.bfloat16)
wq = torch.nn.Linear(h, 3 * h, bias=False).to(torch.bfloat16)
wo = torch.nn.Linear(h, h, bias=False).to(torch.bfloat16)
up = torch.nn.Linear(h, 2 * f, bias=False).to(torch.bfloat16)
down = torch.nn.Linear(f, h, bias=False).to(torch.bfloat16)
def block(x):
    q, k, v = wq(x).view(t, 3, heads, h // heads).unbind(1)
    q, k, v = (y.transpose(0, 1) for y in (q, k, v))
    s = torch.bmm(q, k.transpose(1, 2)).softmax(-1)
    a = torch.bmm(s, v).transpose(0, 1).reshape(t, h)
    x = x + wo(a)
    g, u = up(torch.nn.functional.rms_norm(x, (h,))).chunk(2, -1)
    return x + down(torch.nn.functional.silu(g) * u)
with torch.no_grad():
    block(x)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as p:
        block(x)
p.export_chrome_trace("torch-cpu-block-bf16.json")
print(torch.__version__)
