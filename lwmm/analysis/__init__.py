from .complexity import config_complexity, count_complexity, default_input_shape, format_count

__all__ = ['config_complexity', 'count_complexity', 'default_input_shape', 'format_count']
