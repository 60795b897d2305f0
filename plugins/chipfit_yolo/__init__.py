"""YOLOv3 workloads for chipfit: object detection inference at 416, 608 and 1920x1088, and training on COCO.

The network is built layer by layer from darknet's ``cfg/yolov3.cfg`` (:mod:`chipfit_yolo.darknet`),
so the model sees every operator; the published totals are checks, not inputs. Sources of every
figure are in SOURCES.md beside this module.
"""

import chipfit
from chipfit import Workload


_PAGE = ("pjreddie.com/darknet/yolo, 'Performance on the COCO Dataset' table (repo pjreddie/pjreddie.github.io, "
         "_darknet/yolo/yolo.md)")
_CFG = "pjreddie/darknet cfg/yolov3.cfg (commit efcbdb54), sections [convolutional]/[shortcut]/[route]/[upsample]/[yolo]"

#: Published darknet BFLOPs, the checks for the generated network (see SOURCES.md section 1.1).
PUBLISHED_GFLOPS = {320: 38.97, 416: 65.86, 608: 140.69}

#: darknet yolov3.cfg training recipe: max_batches=500200 (line 20), batch=64 (line 6); multi-scale
#: training (random=1) draws the input size from 320..608 in steps of 32 (examples/detector.c).
MAX_BATCHES = 500_200
BATCH = 64
TRAINING_SIZES = list(range(320, 609, 32))
#: COCO train2017 (SOURCES.md section 2.2, confidence M+: several agreeing secondary sources).
COCO_TRAIN_IMAGES = 118_287


def _inference(ident: str, name: str, height: int, width: int) -> Workload:
    from chipfit_yolo import darknet  # when workloads are asked for: not for --help or devices

    layers = darknet.yolov3_layers(height, width)
    gflops = darknet.conv_flops(layers) / 1e9
    published = PUBLISHED_GFLOPS.get(height) if height == width else None
    check = f"published {published} BFLOPs ({_PAGE})" if published else \
        f"65.86 BFLOPs at 416x416 scaled by pixels: 65.86 x {height * width}/{416 * 416} (not published)"
    return Workload(
        id=ident,
        name=name,
        domain="vision: object detection",
        phase="inference",
        operators=darknet.operators(layers),
        parameters=darknet.trainable_parameters(layers),
        precision="fp32",
        batch=1,
        sources={"operators": _CFG, "ops_per_sample": check,
                 "parameters": "counted from the cfg; 61.95M agrees with yakhyo/YOLOv3-pt README (SOURCES.md 1.4)"},
        derivations={"ops_per_sample": f"sum over the 75 convolutions of 2 x k x k x c_in x c_out x out_h x out_w "
                                       f"= {gflops:.3f} GFLOPs, plus shortcut adds and the yolo activations"},
        notes="darknet YOLOv3, 80 COCO classes; costs per image in FP32, rescaled by the model to other precisions",
        graph=f"reference:{ident}",
    )


def _training() -> Workload:
    from chipfit_yolo import darknet

    operators = darknet.averaged_operators(TRAINING_SIZES)
    samples = MAX_BATCHES * BATCH
    epochs = samples / COCO_TRAIN_IMAGES
    forward = sum(op.ops for op in operators)
    return Workload(
        id="yolov3-coco-train",
        name="YOLOv3 training on COCO (darknet recipe)",
        domain="vision: object detection",
        phase="training",
        operators=operators,
        parameters=darknet.trainable_parameters(darknet.yolov3_layers(416)),
        precision="fp32",
        batch=BATCH,
        dataset_samples=COCO_TRAIN_IMAGES,
        epochs=epochs,
        backward_factor=2.0,
        sources={
            "epochs": f"{_CFG}: max_batches=500200 (line 20), batch=64 (line 6, training setting)",
            "dataset_samples": "COCO train2017, 118,287 images (SOURCES.md 2.2: HF dataset cards, YOLOv5 coco.yaml, "
                               "darknet issue #742; cocodataset.org not reached)",
            "backward_factor": "Kaplan et al. 2020, arXiv:2001.08361, section 2.1: backward ~ 2x forward, "
                               "C ~ 6N per token",
            "operators": f"{_CFG}; multi-scale sizes 320..608 step 32 from darknet examples/detector.c",
        },
        derivations={
            "epochs": f"{MAX_BATCHES} batches x {BATCH} images / {COCO_TRAIN_IMAGES} images = {epochs:.1f} epochs",
            "ops_per_sample": f"mean over input sizes {TRAINING_SIZES[0]}..{TRAINING_SIZES[-1]} "
                              f"(random=1 multi-scale) = {forward / 1e9:.1f} GFLOPs forward per image",
        },
        unconfirmed={"dataset_samples"},
        notes="darknet trains on COCO trainval (about 117k images); train2017 (118,287) is used as the nearest "
              "documented count. Single-GPU recipe: with -gpus 0,1,2,3 darknet loads 4x the images per batch.",
    )


@chipfit.hookimpl
def chipfit_register_workloads(register):
    """YOLOv3 at 416x416, 608x608 and 1920x1088 (about 2 megapixels) inference, and COCO training."""
    register(_inference("yolov3-416", "YOLOv3 416x416", 416, 416))
    register(_inference("yolov3-608", "YOLOv3 608x608", 608, 608))
    register(_inference("yolov3-1080p", "YOLOv3 1920x1088 (2 MP frame)", 1088, 1920))
    register(_training())


