"""chipfit_transformer: language models as workloads, from their configuration.

Registers the in-tree models (Llama 2 7B/70B, Llama 3.1 8B/70B/405B, GPT-J 6B, Mixtral 8x7B,
GPT-3 175B) serving requests, MLPerf's request shapes for them, and training runs with their token
budgets; and reads a local Hugging Face ``config.json`` as a workload (``chipfit estimate DEVICE
path/to/config.json``; nothing is downloaded). Every figure carries its source.
"""

from __future__ import annotations

from pathlib import Path

import attrs

import chipfit
from chipfit.transformer import Requests, TokenBudget

_MLPERF_INFERENCE = "MLCommons, MLPerf Inference reference implementation, github.com/mlcommons/inference"


def _loadgen_limits(benchmark: str, ttft_ms: int, tpot_ms: int) -> str:
    """The source of an MLPerf LLM benchmark's server TTFT and TPOT limits."""
    return (f"MLCommons, mlcommons/inference loadgen/mlperf.conf: {benchmark}.Server.ttft_latency = {ttft_ms} and "
            f"tpot_latency = {tpot_ms} (ms)")


_LOADGEN_LIMITS = _loadgen_limits("llama2-70b", 2000, 200)

#: MLPerf Inference's request shapes. Means marked unconfirmed were not found stated in a primary
#: document (the prompt means are derived from a third party's extract of MLCommons' data set files, the
#: sources say how); the limits (max lengths, sample counts, beams) come from the reference implementations.
MLPERF_REQUESTS = {
    "llama-2-70b-openorca": (
        "llama-2-70b", "Llama 2 70B on OpenOrca (MLPerf Inference llama2-70b)",
        Requests(input_tokens=222.33, output_tokens=294.45, input_max=1024, output_max=1024,
                 dataset="OpenOrca, 24,576 samples (MLPerf Inference llama2-70b)", ttft_target=2.0,
                 tpot_target=0.2),
        {"requests": "MLCommons, MLPerf Inference documentation (github.com/mlcommons/inference, "
                     "docs/benchmarks/index.md, item 7): 'OpenORCA (GPT-4 split, max_seq_len=1024) dataset. Dataset "
                     "size is 24576', reference accuracy 'tokens_per_sample=294.45' (the mean output length); "
                     "language/llama2-70b/processorca.py: keeps samples whose input and output are each under "
                     "1,024 tokens (and outputs of at least 3), 6,144 from each of the cot, flan, niv and t0 "
                     "subsets. The submissions' own logs agree on the output mean (NVIDIA 8x H200 Offline, v4.1: "
                     "31,302.7 tokens/s / 107.477 samples/s = 291 tokens a sample). The input mean is derived: "
                     "5,463,976 prompt tokens / 24,576 samples = 222.33 tokens (median 152, 95th percentile 614, "
                     "max 1,021), summed over the tok_input_length column of MLCommons' data set file "
                     "open_orca_gpt4_tokenized_llama.sampled_24576.pkl.gz (inference.mlcommons-storage.org/open_orca/) "
                     "as Red Hat PSAP extracted it column for column into github.com/openshift-psap/performance-dashboard, "
                     "mlperf-data/summaries/llama2-70b-99.csv (commit 7cd1065; its generate_dataset_summaries.py "
                     "copies tok_input_length and tok_output_length). The extract has the file's 24,576 rows and no "
                     "prompt of 1,024 tokens or more, as processorca.py keeps; its output column (the GPT-4 answers "
                     "of OpenOrca, mean 218.9) is not the 294.45 tokens Llama 2 itself generates, which is the mean "
                     "used here. Unconfirmed: a third party's extract, not MLCommons' file read here",
         "requests.ttft_target": _LOADGEN_LIMITS},
        {"requests.input_tokens"}),
    "gpt-j-6b-cnndm": (
        "gpt-j-6b", "GPT-J 6B on CNN/DailyMail (MLPerf Inference gptj)",
        Requests(input_tokens=775, output_tokens=63, beams=4, input_max=1919, output_max=128,
                 dataset="CNN/DailyMail validation, 13,368 samples (MLPerf Inference gptj)"),
        {"requests": f"{_MLPERF_INFERENCE}, language/gpt-j: CNN/DailyMail v3.0.0 validation (13,368 articles), "
                     "max input 1,919 tokens, max_new_tokens 128, min 30, num_beams 4; mean input 775 and output "
                     "63 tokens unconfirmed",
         "latency_target": "MLCommons, mlcommons/inference loadgen/mlperf.conf: gptj.Server.target_latency = 20000 "
                           "(ms, per sample)"},
        {"requests.input_tokens", "requests.output_tokens"}),
    "mixtral-8x7b-mlperf": (
        "mixtral-8x7b", "Mixtral 8x7B on OpenOrca, GSM8K and MBXP (MLPerf Inference mixtral-8x7b)",
        Requests(input_tokens=427.39, output_tokens=144.84, input_max=2048, output_max=1024,
                 dataset="OpenOrca + GSM8K + MBXP, 15,000 samples (MLPerf Inference mixtral-8x7b)", ttft_target=2.0,
                 tpot_target=0.2),
        {"requests": f"{_MLPERF_INFERENCE}, language/mixtral-8x7b/README.md: 'randomly sampling from the validation "
                     "split of 3 datasets, open_orca_gpt4, GSM8k and MBXP. 5K samples from each one', max_new_tokens "
                     "1,024; its 'Accuracy Target': 'tokens_per_sample': 144.84 (the mean output length; "
                     "docs/benchmarks/index.md repeats Llama 2's 294.45 for it, a copy of item 7's figure). The input "
                     "mean is derived: 6,410,905 prompt tokens / 15,000 samples = 427.39 tokens (median 283, 95th "
                     "percentile 1,006, max 1,948), summed over the input lengths of MLCommons' Mixtral data set "
                     "file as Red Hat PSAP extracted them into github.com/openshift-psap/performance-dashboard, "
                     "mlperf-data/summaries/mixtral-8x7b.csv (commit 67033ba; the generate_dataset_summaries.py stored "
                     "there has no Mixtral processor, so how it was extracted is not shown); the same extract's "
                     "output lengths average 144.84 tokens, MLCommons' own figure, which checks it. Unconfirmed: "
                     "a third party's extract, not MLCommons' file",
         "requests.ttft_target": _loadgen_limits("mixtral-8x7b", 2000, 200)},
        {"requests.input_tokens"}),
    "llama-3.1-405b-mlperf": (
        "llama-3.1-405b", "Llama 3.1 405B, long-context tasks (MLPerf Inference llama3.1-405b)",
        Requests(input_tokens=9428.64, output_tokens=684.68, input_max=20000, output_max=2000,
                 dataset="LongBench, RULER, GovReport and others, 8,313 samples (MLPerf Inference llama3.1-405b)",
                 ttft_target=6.0, tpot_target=0.175),
        {"requests": "MLCommons, 'Llama 3.1 405B ... MLPerf Inference v5.0' (mlcommons.org/2025/04/llm-inference-v5): "
                     "8,313 samples, inputs up to 20,000 tokens, outputs up to 2,000; mlcommons/inference "
                     "language/llama3.1-405b/README.md, 'Accuracy Target': 'tokens_per_sample': 684.68 (the mean "
                     "output length). The input mean is derived: 78,380,323 prompt tokens / 8,313 samples = 9,428.64 "
                     "tokens (median 10,112, 95th percentile 15,837, max 19,988), summed over the input lengths of "
                     "MLCommons' data set file as Red Hat PSAP extracted them into "
                     "github.com/openshift-psap/performance-dashboard, mlperf-data/summaries/llama3-1-405b.csv "
                     "(commit 739352b); the same extract's output lengths average 684.68 tokens, MLCommons' own "
                     "figure, which checks it. The input mean is unconfirmed: a third party's extract, not "
                     "MLCommons' file",
         "requests.ttft_target": _loadgen_limits("llama3_1-405b", 6000, 175)},
        {"requests.input_tokens"}),
}

#: MLPerf's per-sample server latency where a benchmark bounds the whole request (seconds).
MLPERF_LATENCY_TARGETS = {"gpt-j-6b-cnndm": 20.0}

_LLAMA3_TRAINING = ("Llama Team, 'The Llama 3 Herd of Models', arXiv:2407.21783 (2024), section 3.4.1: 15.6T "
                    "tokens of pre-training, batch raised to 16M tokens in sequences of 8,192 (2,048 sequences; "
                    "the 4M and 8M-token early stages are not modelled)")

#: Training runs: (model, name, budget, sources, unconfirmed).
TRAINING = {
    "llama-3.1-405b-pretrain": (
        "llama-3.1-405b", "Llama 3.1 405B pre-training (15.6T tokens)",
        TokenBudget(tokens=15.6e12, sequence_length=8192, global_batch=2048),
        {"token_budget": _LLAMA3_TRAINING}, ()),
    "gpt-3-175b-pretrain": (
        "gpt-3-175b", "GPT-3 175B pre-training, MLPerf Training gpt3 (from a checkpoint to log-perplexity 2.69)",
        TokenBudget(tokens=1_245_708_288, sequence_length=2048, global_batch=2304),
        {"token_budget": "MLCommons, MLPerf Training v4.0 results, NVIDIA/results/eos_n64_ngc24.04_nemo/gpt3/"
                         "result_0.txt (github.com/mlcommons/training_results_v4.0): global_batch_size 2304, "
                         "max_sequence_length 2048, trained_samples 1,245,708,288 tokens (264 steps) from "
                         "init_checkpoint_step 2667"}, ()),
    "gpt-3-175b-paper-pretrain": (
        "gpt-3-175b", "GPT-3 175B pre-training, the paper's 300B tokens",
        TokenBudget(tokens=300e9, sequence_length=2048, global_batch=1536),
        {"token_budget": "Brown et al., 'Language Models are Few-Shot Learners', arXiv:2005.14165, Table 2.1 "
                         "(batch 3.2M tokens) and section 2.2 (300 billion tokens, context 2,048); 1,536 sequences "
                         "of 2,048 (3.1M tokens) a batch"}, ()),
    "llama-2-70b-lora-govreport": (
        "llama-2-70b", "Llama 2 70B LoRA fine-tuning on GovReport (MLPerf Training llama2_70b_lora)",
        TokenBudget(tokens=3072 * 8192, sequence_length=8192, global_batch=8,
                    trainable_fraction=65_536_000 / 68_976_648_192),
        {"token_budget": "MLCommons, MLPerf Training v4.0 results, NVIDIA/results/h200_ngc24.04_nemo/llama2_70b_lora/"
                         "result_0.txt (github.com/mlcommons/training_results_v4.0): GovReport, global_batch_size 8, "
                         "3,072 samples to the target log-perplexity 0.925, lora_rank 16; sequences of 8,192 "
                         "(mlcommons/training llama2_70b_lora reference); LoRA on q, k, v, o of 80 layers: "
                         "80 x 16 x (2 x (8192 + 8192) + 2 x (8192 + 1024)) = 65,536,000 trainable (derived)"}, ()),
}


@chipfit.hookimpl
def chipfit_register_workloads(register):
    """The in-tree language models, MLPerf's request shapes for them, and training runs."""
    from chipfit_transformer import configs  # when workloads are asked for: not for --help or devices
    from chipfit_transformer.workloads import DEFAULT_REQUESTS, generation, training

    models = configs.by_id()
    for model in configs.MODELS:
        register(generation(model, DEFAULT_REQUESTS, unconfirmed={"requests"}))
    for ident, (model_id, name, requests, sources, unconfirmed) in MLPERF_REQUESTS.items():
        workload = generation(models[model_id], requests, ident=ident, name=name, sources=sources,
                              unconfirmed=unconfirmed, notes=f"requests: {requests.dataset}")
        if "latency_target" in sources:
            workload = attrs.evolve(workload, latency_target=MLPERF_LATENCY_TARGETS[ident])
        register(workload)
    for ident, (model_id, name, budget, sources, unconfirmed) in TRAINING.items():
        register(training(models[model_id], budget, ident=ident, name=name, sources=sources,
                          unconfirmed=unconfirmed))


@chipfit.hookimpl
def chipfit_load_workload(source, dims):
    """A Hugging Face ``config.json`` on disk (or a folder holding one) as a generation workload;
    ``--dim input_tokens=N --dim output_tokens=N`` set the request shape. None for other files."""
    from chipfit_transformer import configs, hf
    from chipfit_transformer.workloads import DEFAULT_REQUESTS, generation

    path = Path(source)
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"
    if path.suffix.lower() != ".json" or not path.name.lower().endswith("config.json"):
        return None
    config, data = hf.load(path)
    unknown = set(dims) - {"input_tokens", "output_tokens", "beams"}
    if unknown:
        raise hf.ConfigError(f"{path}: unknown --dim {', '.join(sorted(unknown))} (a config.json takes "
                             "input_tokens, output_tokens and beams)")
    requests = Requests(input_tokens=dims.get("input_tokens", DEFAULT_REQUESTS.input_tokens),
                        output_tokens=dims.get("output_tokens", DEFAULT_REQUESTS.output_tokens),
                        beams=dims.get("beams", 1),
                        dataset=f"{dims.get('input_tokens', 1024)} in, {dims.get('output_tokens', 256)} out")
    stem = path.parent.name or "model"
    ident = "-".join(filter(None, "".join(c if c.isalnum() else "-" for c in stem.lower()).split("-"))) or "model"
    name = str(data.get("_name_or_path") or stem)
    model = configs.Model(ident, name, config, config.parameters(),
                          {"config": f"{path} (a Hugging Face config.json read from disk)"})
    return generation(model, requests, notes=f"from {path}")
