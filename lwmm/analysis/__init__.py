from .complexity import count_complexity, format_count

__all__ = ['count_complexity', 'format_count']
