__all__ = ['ttypes', 'constants', 'SamplingManager']
