# The README's two commands: `make demo` (the main job) and `make test`. Each builds the environment
# first when it is missing (tools/setup_env.sh; a no-op when it is complete).
PY := .venv/bin/python
SHAPES := data/shapes
DEMO_CONFIG := configs/demo/ssdlite_ghostnetv2_shapes.py
DEMO_WORK_DIR := work_dirs/demo_ssdlite_ghostnetv2
PYTEST_ARGS ?=

.PHONY: env demo transfer test test-fast shapes clean-demo figures

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

test: env
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest tests $(PYTEST_ARGS)

# Everything but the end-to-end trainings (marked slow).
test-fast: env
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

# The README's pictures, from the demo's checkpoint (run `make demo` first).
figures: env
	bash tools/analysis/make_readme_figures.sh

clean-demo:
	rm -rf $(DEMO_WORK_DIR)
