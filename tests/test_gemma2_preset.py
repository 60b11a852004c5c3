"""The paper's preset (`gemma2-2b`) checked without its weights or a GPU: a tiny randomly initialised Gemma-2 (the
architecture class of gemma-2-2b: Gemma2ForCausalLM, 2 layers, hidden 64) with a small BPE tokenizer goes the way a
user's gemma-2-2b goes: `--preset gemma2-2b --base DIR` -> LoRA r=64 on all seven projections with the embeddings
and lm_head trained -> stage-1 SFT through `irgmotion train` -> stage 2 from the stage-1 model (LoRA again) -> saved
merged -> loaded -> an interleaved trace through the project's Reasoner."""
import pytest
import torch
from safetensors.torch import load_file

from irgmotion.cli import main
from irgmotion.engine.build import EngineConfig, build
from irgmotion.llm.model import MotionLLM, get_preset
from irgmotion.llm.trace import ParsedTrace
from irgmotion.motion import Normalizer
from irgmotion.reason.decoding import DecodeOptions, generate_texts
from irgmotion.reason.pipeline import Reasoner
from irgmotion.tokenizer import MotionTokenizer, MotionVQVAE, get_preset as vq_preset

PROJECTIONS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from transformers import Gemma2Config, Gemma2ForCausalLM

    from irgmotion.data.synth import write_corpus
    from irgmotion.llm.text_tokenizer import train_text_tokenizer
    from irgmotion.train.cli import corpus_texts, load_engine_entries
    root = tmp_path_factory.mktemp("gemma2")
    write_corpus(root / "corpus", 24, seed=3, workers=1)
    engine = root / "engine"
    build(EngineConfig(data=str(root / "corpus"), out=str(engine), limit=4, n_perturb=2, n_retrieval=1, workers=1),
          log=lambda *a: None)
    torch.manual_seed(0)
    model = MotionVQVAE(vq_preset("tiny", nb_code=16, code_dim=8, width=8, depth=1))
    model.train()
    model(torch.randn(4, 32, 263))  # initialise the codebook
    model.eval()
    vq = MotionTokenizer(model, Normalizer.from_dir(root / "corpus")).save_pretrained(root / "vq")
    # The user-supplied base: a directory in save_pretrained layout, here a tiny Gemma-2 at random init.
    entries, _ = load_engine_entries(engine, 1)
    tok = train_text_tokenizer(corpus_texts(entries), 400)
    config = Gemma2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=2048,
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    base = root / "base"
    Gemma2ForCausalLM(config).save_pretrained(base)
    tok.save_pretrained(base)
    return root, engine, vq, base


def _train(setup, out, stage, *extra):
    root, engine, vq, base = setup
    argv = ["train", "--stage", str(stage), "--engine", str(engine), "--vq", str(vq), "--out", str(out),
            "--steps", "2", "--batch-size", "2", "--max-length", "192", "--warmup", "1", "--lr", "1e-2",
            "--threads", "1", *extra]
    assert main(argv) == 0


def test_gemma2_preset_gets_lora_r64_on_all_projections_and_trains_the_embeddings(setup):
    _, _, _, base = setup
    llm = MotionLLM.create("gemma2-2b", 16, base_path=str(base))
    assert llm.is_lora and type(llm.model.get_base_model()).__name__ == "Gemma2ForCausalLM"
    lora = llm.model.peft_config["default"]
    assert (lora.r, lora.lora_alpha) == (64, 64) and set(lora.target_modules) == PROJECTIONS
    trainable = [n for n, p in llm.model.named_parameters() if p.requires_grad]
    for layer in range(2):
        for proj in PROJECTIONS:
            assert any(f"layers.{layer}." in n and f"{proj}.lora_A" in n for n in trainable), (layer, proj)
    assert any("embed_tokens.modules_to_save" in n for n in trainable)
    assert any("lm_head.modules_to_save" in n for n in trainable)
    assert not any("layernorm" in n or n.endswith(".norm.weight") for n in trainable)  # the rest stays frozen


def test_gemma2_stage1_stage2_save_merge_load_and_interleaved_generate(setup):
    root, _, vq_dir, base = setup
    _train(setup, root / "stage1", 1, "--preset", "gemma2-2b", "--base", str(base))
    _train(setup, root / "stage2", 2, "--init", str(root / "stage1"))
    before = load_file(str(base / "model.safetensors"))
    s1 = load_file(str(root / "stage1" / "model.safetensors"))
    s2 = load_file(str(root / "stage2" / "model.safetensors"))
    assert not (root / "stage2" / "adapter_config.json").exists()  # merged: a plain transformers directory
    q, norm = "model.layers.0.self_attn.q_proj.weight", "model.layers.0.input_layernorm.weight"
    # LoRA merged in at each stage (the projection moved), and only LoRA: a weight outside it is the base's
    assert not torch.equal(before[q], s1[q]) and not torch.equal(s1[q], s2[q])
    assert torch.equal(before[norm], s1[norm]) and torch.equal(s1[norm], s2[norm])
    # the embeddings and the output layer were trained, as two separate matrices after the merge
    assert "lm_head.weight" in s2 and not torch.equal(s2["lm_head.weight"], s2["model.embed_tokens.weight"])
    assert not torch.equal(s1["lm_head.weight"], s2["lm_head.weight"])

    llm = MotionLLM.from_pretrained(root / "stage2")
    assert llm.model.config.model_type == "gemma2" and llm.preset == "gemma2-2b" and not llm.is_lora
    assert llm.extra["preset"]["lora_r"] == 64
    vq = MotionTokenizer.from_pretrained(vq_dir)
    results = Reasoner(llm, vq).interleaved(["a person walks forward and waves."], DecodeOptions(max_new_tokens=40),
                                            max_rounds=2)
    assert len(results) == 1 and isinstance(results[0].trace, ParsedTrace) and results[0].mode == "interleaved"
    assert isinstance(results[0].trace.to_dict(), dict) and results[0].text
    # the batched decoder's growing cache serves Gemma-2 exactly: greedy output equals transformers' generate
    prompts = [llm.prompt("Describe the motion."), llm.prompt("Generate a motion of a person jumping.")]
    opts = DecodeOptions(max_new_tokens=24, batch_size=2)
    assert generate_texts(llm, prompts, opts) == generate_texts(llm, prompts, opts, engine="generate")


def test_random_init_builds_the_configured_architecture_without_weight_files(setup, tmp_path):
    _, _, _, base = setup
    from transformers import AutoConfig
    config = AutoConfig.from_pretrained(base)
    config.vocab_size = 1000  # larger than the tokenizer's: kept, as for gemma-2-2b's 256000 rows
    config.save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((base / name).read_bytes())
    assert not (tmp_path / "model.safetensors").exists()
    llm = MotionLLM.create(get_preset("gemma2-2b", lora=False), 16, base_path=str(tmp_path), random_init=True)
    assert type(llm.model).__name__ == "Gemma2ForCausalLM"
    assert llm.model.get_input_embeddings().num_embeddings == 1000 and llm.code_offset + 16 <= 1000
    with pytest.raises(OSError):  # without random_init the weights are required
        MotionLLM.create(get_preset("gemma2-2b", lora=False), 16, base_path=str(tmp_path))
