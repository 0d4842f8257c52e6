# The prior variants the GPU scripts train (`gpu_shipped_prior.py train --variant` specs), spelled in one place
# (sourced, not run). Every one trains its identity codes at 1e-3, the shipped prior's rate (its model card says why).
CODES_LR='lr={"codes":0.001}'
# variant_spec NAME IDENTITIES [SETTINGS]: NAME trained on the first IDENTITIES identities of the data plan (0 = all)
# with the ;-separated PriorConfig SETTINGS, e.g. variant_spec views16 0 "batch_size=32".
variant_spec() { echo "$1:$2;${3:+$3;}$CODES_LR"; }
# size_spec N: the prior-size ablation's pN (the first N identities).
size_spec() { variant_spec "p$1" "$1"; }
# uv_spec R [STEPS]: Table 3's uvR (100 identities at UV resolution R; STEPS: its own schedule length).
uv_spec() { variant_spec "uv$1" 100 "uv_resolution=$1${2:+;steps=$2}"; }
