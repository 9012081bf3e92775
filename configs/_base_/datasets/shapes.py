# The generated shapes data (python tools/make_shapes.py), in the real COCO / ADE20K / ImageNet layouts.
# Demo configs inherit a real config plus this file, and point the real config's datasets at these
# values (the names here are unique, so they never clash with the real config's keys).
shapes_classes = ('circle', 'square', 'triangle', 'star')
shapes_coco = dict(data_root='data/shapes/coco/', metainfo=dict(classes=shapes_classes))
shapes_coco_val_ann = 'data/shapes/coco/annotations/instances_val2017.json'
shapes_ade = dict(
    type='BaseSegDataset',
    data_root='data/shapes/ade/ADEChallengeData2016',
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=False,
    metainfo=dict(classes=('background', ) + shapes_classes,
                  palette=[[0, 0, 0], [220, 20, 60], [0, 130, 200], [60, 180, 75], [255, 225, 25]]))
shapes_imagenet = dict(
    type='CustomDataset', data_root='data/shapes/imagenet', ann_file='', with_label=True,
    metainfo=dict(classes=shapes_classes))
